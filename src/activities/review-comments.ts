// Reading a pull request review's inline comments for a review gate (interpreter/reviews.ts): on the worker,
// with the worker's forge credential, so the agent and the workflow history never see it. Nothing written.
import { ApplicationFailure } from '@temporalio/common';
import { ForgeCredentialError, ForgeError } from '../forge/errors';
import type { RepoRef } from '../forge/forge';
import { workerForge } from '../forge/worker-forge';
import type { ReviewComment } from '../shapes/forge-review';

export interface ReviewCommentsRequest {
  repo: RepoRef;
  pullRequest: number;
  reviewId: number;
}

export interface ReviewActivityDeps {
  /** where the forge credential is read (SOP_GITHUB_*); default: the worker's environment (as deliver.ts) */
  forgeEnv?: NodeJS.ProcessEnv;
}

export function createReviewActivities(deps: ReviewActivityDeps = {}) {
  return {
    async readReviewComments(request: ReviewCommentsRequest): Promise<ReviewComment[]> {
      try {
        const forge = workerForge(deps.forgeEnv ?? process.env);
        return await forge.reviewComments(request.repo, request.pullRequest, request.reviewId);
      } catch (err) {
        // a missing credential or the forge refusing is not cured by retrying
        if (err instanceof ForgeCredentialError || (err instanceof ForgeError && !err.retryable))
          throw ApplicationFailure.create({ type: 'SopForgeRead', message: err.message, nonRetryable: true });
        throw err;
      }
    },
  };
}
export type ReviewActivities = ReturnType<typeof createReviewActivities>;
