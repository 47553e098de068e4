// Reading the forge for a review gate (interpreter/reviews.ts): on the worker, with the worker's forge
// credential, so the agent and the workflow history never see it. Nothing written. `confirmReview` asks the
// forge for the review or `/sop rework` comment a forgeReview signal names (and a changes-requested review's
// inline comments), so the run checks the signal against the forge's own record; `readReviewComments` is the
// inline comments alone (runs from before that confirmation).
import { ApplicationFailure } from '@temporalio/common';
import { ForgeCredentialError, ForgeError } from '../forge/errors';
import type { RepoRef } from '../forge/forge';
import { workerForge } from '../forge/worker-forge';
import type { ReviewComment, ReviewConfirmation } from '../shapes/forge-review';

export interface ReviewCommentsRequest {
  repo: RepoRef;
  pullRequest: number;
  reviewId: number;
}

/** The review (or comment, for a rework) a signal names. */
export interface ConfirmReviewRequest {
  repo: RepoRef;
  pullRequest: number;
  kind: 'approved' | 'changes_requested' | 'commented' | 'rework';
  /** the review's id, or the rework comment's */
  id: number;
}

export interface ReviewActivityDeps {
  /** where the forge credential is read (SOP_GITHUB_*); default: the worker's environment (as deliver.ts) */
  forgeEnv?: NodeJS.ProcessEnv;
}

export function createReviewActivities(deps: ReviewActivityDeps = {}) {
  const forge = () => workerForge(deps.forgeEnv ?? process.env);
  return {
    async readReviewComments(request: ReviewCommentsRequest): Promise<ReviewComment[]> {
      return forgeRead(() => forge().reviewComments(request.repo, request.pullRequest, request.reviewId));
    },

    async confirmReview(request: ConfirmReviewRequest): Promise<ReviewConfirmation> {
      const { repo, pullRequest, id } = request;
      if (request.kind === 'rework') {
        const record = await forgeRead(() => forge().issueComment(repo, id));
        return record ? { record } : {};
      }
      const record = await forgeRead(() => forge().review(repo, pullRequest, id));
      if (!record) return {};
      if (request.kind !== 'changes_requested' || record.state !== 'CHANGES_REQUESTED') return { record };
      try {
        return { record, comments: await forgeRead(() => forge().reviewComments(repo, pullRequest, id)) };
      } catch (err) {
        // the review is confirmed; its inline comments are noted as unread, as before
        if (err instanceof ApplicationFailure && err.nonRetryable)
          return { record, commentsProblem: err.message };
        throw err;
      }
    },
  };
}
export type ReviewActivities = ReturnType<typeof createReviewActivities>;

/** A read of the forge: a missing credential or the forge refusing is not cured by retrying. */
async function forgeRead<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ForgeCredentialError || (err instanceof ForgeError && !err.retryable))
      throw ApplicationFailure.create({ type: 'SopForgeRead', message: err.message, nonRetryable: true });
    throw err;
  }
}
