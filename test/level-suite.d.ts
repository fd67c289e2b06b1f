/**
 * Just enough types for the two untyped CommonJS modules test/level.tape.ts uses: tape (its
 * test function is handed to the suite as is) and abstract-level's compliance suite.
 */
declare module 'tape' {
  interface Test {
    ok(value: unknown, message?: string): void;
    end(): void;
  }
  interface Tape {
    (name: string, cb: (t: Test) => unknown): void;
    onFinish(cb: () => void): void;
    onFailure(cb: () => void): void;
  }
  const tape: Tape;
  export = tape;
}

declare module 'abstract-level/test/index.js' {
  interface SuiteOptions {
    test: unknown;
    factory: (options?: Record<string, unknown>) => unknown;
  }
  function suite(options: SuiteOptions): void;
  export = suite;
}
