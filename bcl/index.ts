// BCL, the job description language: evaluate a file (and its imports) to JobSpec protos, or format it.
// Everything that goes wrong with the input is a BclError (file:line:col, the source line and a caret).
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BclError, describeIoError } from './errors';
import { Evaluator, type Limits, type Module } from './evaluator';
import { toJobSpecs, type JobOptions } from './job';
import type { JobSpec } from '../proto/index';
import { BCL_MAX_SOURCE_BYTES } from '../cells/limits';

export { BclError, describeIoError, render, type Pos, type Source } from './errors';
export { format } from './format';
export { parse } from './parser';
export { JOB_FIELDS, TASK_FIELDS, toJobSpecs, type JobOptions } from './job';
export { Evaluator, DEFAULT_LIMITS, RUNTIME_PLACEHOLDERS, type Limits, type Module, type JobDecl } from './evaluator';
export { toJson, type Json, type Value } from './values';

export interface EvaluateOptions extends JobOptions {
  /** readFile reads an imported file by resolved path; evaluateFile defaults it to the real filesystem. */
  readFile?: (path: string) => string;
  /** limits tightens (or, in tests, loosens) the evaluation bounds of cells/limits.ts. */
  limits?: Partial<Limits>;
}

export interface Evaluated {
  jobs: JobSpec[];
}

/** readSourceFile reads a file for BCL, refusing anything that is not a regular file within BCL_MAX_SOURCE_BYTES. */
export function readSourceFile(path: string): string {
  const st = statSync(path);
  if (!st.isFile()) throw new Error('not a regular file');
  if (st.size > BCL_MAX_SOURCE_BYTES) throw new Error(`file is ${st.size} bytes; the limit is ${BCL_MAX_SOURCE_BYTES}`);
  return readFileSync(path, 'utf8');
}

/**
 * evaluateSource evaluates BCL text. `file` is the name errors show and the base for relative imports
 * (resolved against the current directory).
 */
export function evaluateSource(text: string, file: string, options: EvaluateOptions = {}): Evaluated {
  const m = evaluateModule(text, file, options);
  return { jobs: toJobSpecs(m.jobs, options) };
}

/** evaluateModule evaluates BCL text to its names and unchecked job records (for tools and property tests). */
export function evaluateModule(text: string, file: string, options: EvaluateOptions = {}): Module {
  const ev = new Evaluator({ readFile: options.readFile ?? readSourceFile, limits: options.limits });
  return ev.evalFile({ file, text }, resolve(file));
}

/** evaluateFile reads and evaluates a .bcl file; a missing or unreadable file is a BclError too. */
export function evaluateFile(path: string, options: EvaluateOptions = {}): Evaluated {
  let text: string;
  try {
    text = (options.readFile ?? readSourceFile)(resolve(path));
  } catch (e: unknown) {
    throw new BclError({ file: path, text: '' }, undefined, `cannot read: ${describeIoError(e)}`);
  }
  return evaluateSource(text, path, options);
}
