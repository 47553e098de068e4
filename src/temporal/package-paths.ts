import * as path from 'node:path';

/** The installed package's root: the same from src/ (tests) and dist/ (the built CLI). */
export const packageRoot = path.resolve(__dirname, '..', '..');
export const temporalDir = path.join(packageRoot, 'temporal');
