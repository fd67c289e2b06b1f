/** Backups, WAL archiving and point-in-time restore (docs/backup.md). */
export { type BackupOptions, type BackupSource, createBackup } from './create.js';
export { type RestoreOptions, type RestoreResult, checkRestoreTarget, restoreBackup } from './restore.js';
export { type BackupCheck, type ArchiveCheck, type ArchiveGap, type BackupEnd, gapError, verifyArchive, verifyBackup } from './verify.js';
export { type PruneOptions, type PruneResult, pruneRepo } from './prune.js';
export { type ArchivedChunk, type RepoContents, listRepo, readManifest } from './catalog.js';
export { type ArchiverOptions, type ArchiverStatus, WalArchiver } from './archiver.js';
export { BackupScheduler, parseInterval } from './schedule.js';
export { type Manifest, type ManifestFile } from './manifest.js';
export { type Location, type Repo, type RepoObject, type S3Settings, openRepo } from './repo.js';
