import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './token.entity.js';

/**
 * A repository that mirrors one of the upstream hub: where it comes from, what of it is wanted, and
 * how its last sync went. The repository itself is an ordinary row of `repos` (its git data and LFS
 * links are stored as for any repository); deleting the mirror row (detach) leaves it an ordinary repo.
 */
@Entity({ name: 'mirrors' })
export class MirrorEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  /** The upstream's base URL at registration (the hub's configured upstream). */
  @Column({ name: 'upstream_url', type: 'varchar', length: 512 })
  upstreamUrl!: string;

  /** `ns/name` on the upstream (the same id as here). */
  @Column({ name: 'upstream_id', type: 'varchar', length: 256 })
  upstreamId!: string;

  /** registered (by an admin), proxy (pull-through), cache-import (a client cache snapshot). */
  @Column({ type: 'varchar', length: 16 })
  source!: string;

  /** The revision downloads fetch by default (null: the default branch). */
  @Column({ type: 'varchar', length: 256, nullable: true })
  revision!: string | null;

  /** JSON arrays of globs on paths: what downloads fetch. */
  @Column({ type: 'text', default: '[]' })
  include!: string;

  @Column({ type: 'text', default: '[]' })
  exclude!: string;

  @Column({ name: 'include_prs', type: 'boolean', default: false })
  includePrs!: boolean;

  /** How its history is fetched: git (smart HTTP only), rest (synthetic commits), auto (git, else REST). */
  @Column({ type: 'varchar', length: 8, default: 'auto' })
  history!: string;

  /** new, syncing, synced, failed. */
  @Column({ type: 'varchar', length: 16, default: 'new' })
  state!: string;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** When the refs were last fetched from the upstream (branch names are trusted this long: the TTL). */
  @Column({ name: 'refs_fetched_at', type: 'bigint', nullable: true, transformer: epochMs })
  refsFetchedAt!: Date | null;

  /** The upstream commit the local history starts from when it came from elsewhere (a cache snapshot). */
  @Column({ name: 'upstream_revision', type: 'varchar', length: 64, nullable: true })
  upstreamRevision!: string | null;

  /** JSON object oid -> {path, error, at} of LFS files whose download failed last time (bounded). */
  @Column({ type: 'text', default: '{}' })
  failures!: string;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;
}
