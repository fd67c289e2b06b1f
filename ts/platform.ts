/**
 * Which prebuilt addon package serves this machine. Names follow napi-rs
 * (`<os>-<arch>[-<abi>]`, package `@kvstore-plus-plus/native-<id>`, file `kvstore.<id>.node`);
 * npm/<id>/package.json holds one package per id, and test/package.test.ts checks that
 * those folders, package.json's optionalDependencies and this table agree.
 *
 * Every prebuilt addon is built for Node-API 8 (NAPI_VERSION=8 in binding.gyp and
 * CMakeLists.txt), which every Node release this package supports provides, so one binary
 * per platform serves all of them.
 */

export type Libc = 'glibc' | 'musl';

/** Platform ids with a prebuilt package (the napi-rs targets in package.json). */
export const PREBUILT_PLATFORMS = [
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'darwin-arm64',
  'darwin-x64',
  'win32-x64-msvc',
] as const;

export type PrebuiltPlatform = (typeof PREBUILT_PLATFORMS)[number];

export interface Host {
  platform: NodeJS.Platform;
  arch: string;
  /** Linux only; undefined when it could not be told. */
  libc?: Libc | undefined;
}

/**
 * The napi-rs id of a host, e.g. linux-x64-gnu, or undefined for Linux whose C library is
 * unknown (a glibc binary does not load on musl and the other way round).
 */
export function platformId(host: Host): string | undefined {
  switch (host.platform) {
    case 'linux':
      if (host.libc === undefined) return undefined;
      return `linux-${host.arch}-${host.libc === 'musl' ? 'musl' : 'gnu'}`;
    case 'win32':
      return `win32-${host.arch}-msvc`;
    default:
      return `${host.platform}-${host.arch}`;
  }
}

export function isPrebuilt(id: string): id is PrebuiltPlatform {
  return (PREBUILT_PLATFORMS as readonly string[]).includes(id);
}

export function platformPackageName(id: string): string {
  return `@kvstore-plus-plus/native-${id}`;
}

export function platformBinaryName(id: string): string {
  return `kvstore.${id}.node`;
}

/** The parts of a diagnostic report (process.report.getReport()) that tell the C library. */
export interface ReportLike {
  header?: { glibcVersionRuntime?: unknown };
  sharedObjects?: unknown;
}

/**
 * glibc when the report names the glibc it runs on; musl when musl's loader or libc is
 * among the process's shared objects; undefined when the report says neither.
 */
export function libcFromReport(report: ReportLike): Libc | undefined {
  if (typeof report.header?.glibcVersionRuntime === 'string') return 'glibc';
  const objects = Array.isArray(report.sharedObjects) ? report.sharedObjects : [];
  if (objects.some((f) => typeof f === 'string' && /(?:^|\/)(?:ld-musl-|libc\.musl-)/.test(f))) return 'musl';
  return undefined;
}

let hostLibc: { value: Libc | undefined } | undefined;

/** The C library of this process on Linux (undefined elsewhere), detected once. */
export function detectLibc(): Libc | undefined {
  if (process.platform !== 'linux') return undefined;
  if (hostLibc) return hostLibc.value;
  // The report would otherwise resolve this host's network interfaces: slow, and not needed.
  // (excludeNetwork is Node 20.13+; @types/node 20 does not declare it.)
  const reporter = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
  const excludeNetwork = reporter.excludeNetwork;
  reporter.excludeNetwork = true;
  let report: ReportLike;
  try {
    report = reporter.getReport() as ReportLike;
  } finally {
    reporter.excludeNetwork = excludeNetwork;
  }
  hostLibc = { value: libcFromReport(report) };
  return hostLibc.value;
}

export function currentHost(): Host {
  return { platform: process.platform, arch: process.arch, libc: detectLibc() };
}
