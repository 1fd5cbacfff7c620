import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteWebhooks1795871416447 implements MigrationInterface {
    name = 'Webhooks1795871416447'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "webhooks" ("id" varchar(24) PRIMARY KEY NOT NULL, "user_id" integer NOT NULL, "url" varchar(2048) NOT NULL, "secret" varchar(256), "domains" text NOT NULL, "watched" text NOT NULL, "disabled" boolean NOT NULL DEFAULT (0), "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL)`);
        await queryRunner.query(`CREATE INDEX "ix_webhooks_user" ON "webhooks" ("user_id") `);
        await queryRunner.query(`CREATE TABLE "webhook_watches" ("webhook_id" varchar(24) NOT NULL, "kind" varchar(16) NOT NULL, "name_key" varchar(300) NOT NULL, PRIMARY KEY ("webhook_id", "kind", "name_key"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhook_watches_target" ON "webhook_watches" ("kind", "name_key") `);
        await queryRunner.query(`CREATE TABLE "webhook_deliveries" ("id" varchar(36) PRIMARY KEY NOT NULL, "webhook_id" varchar(24) NOT NULL, "job_id" varchar(36), "scope" varchar(32) NOT NULL, "action" varchar(16) NOT NULL, "repo_id" varchar(36) NOT NULL, "payload" text NOT NULL, "state" varchar(16) NOT NULL, "attempts" integer NOT NULL DEFAULT (0), "response_status" integer, "error" text, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, "delivered_at" bigint)`);
        await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_hook" ON "webhook_deliveries" ("webhook_id", "created_at") `);
        await queryRunner.query(`DROP INDEX "ix_jobs_state_kind"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_updated"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_created"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_repo"`);
        await queryRunner.query(`CREATE TABLE "temporary_jobs" ("id" varchar(36) PRIMARY KEY NOT NULL, "kind" varchar(64) NOT NULL, "repo_id" varchar(36), "repo_label" varchar(300), "revision" varchar(255), "paths" text NOT NULL, "params" text NOT NULL, "state" varchar(16) NOT NULL, "cancel_requested" boolean NOT NULL DEFAULT (0), "bytes_done" bigint NOT NULL DEFAULT (0), "bytes_total" bigint, "files_done" integer NOT NULL DEFAULT (0), "files_total" integer, "attempts" integer NOT NULL DEFAULT (0), "error" text, "retry_of" varchar(36), "run_by" varchar(128), "created_at" bigint NOT NULL, "started_at" bigint, "finished_at" bigint, "updated_at" bigint NOT NULL, "lease_owner" varchar(128), "lease_expires_at" bigint, "run_after" bigint)`);
        await queryRunner.query(`INSERT INTO "temporary_jobs"("id", "kind", "repo_id", "repo_label", "revision", "paths", "params", "state", "cancel_requested", "bytes_done", "bytes_total", "files_done", "files_total", "attempts", "error", "retry_of", "run_by", "created_at", "started_at", "finished_at", "updated_at", "lease_owner", "lease_expires_at") SELECT "id", "kind", "repo_id", "repo_label", "revision", "paths", "params", "state", "cancel_requested", "bytes_done", "bytes_total", "files_done", "files_total", "attempts", "error", "retry_of", "run_by", "created_at", "started_at", "finished_at", "updated_at", "lease_owner", "lease_expires_at" FROM "jobs"`);
        await queryRunner.query(`DROP TABLE "jobs"`);
        await queryRunner.query(`ALTER TABLE "temporary_jobs" RENAME TO "jobs"`);
        await queryRunner.query(`CREATE INDEX "ix_jobs_state_kind" ON "jobs" ("state", "kind") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_updated" ON "jobs" ("updated_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_created" ON "jobs" ("created_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_repo" ON "jobs" ("repo_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_jobs_repo"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_created"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_updated"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_state_kind"`);
        await queryRunner.query(`ALTER TABLE "jobs" RENAME TO "temporary_jobs"`);
        await queryRunner.query(`CREATE TABLE "jobs" ("id" varchar(36) PRIMARY KEY NOT NULL, "kind" varchar(64) NOT NULL, "repo_id" varchar(36), "repo_label" varchar(300), "revision" varchar(255), "paths" text NOT NULL, "params" text NOT NULL, "state" varchar(16) NOT NULL, "cancel_requested" boolean NOT NULL DEFAULT (0), "bytes_done" bigint NOT NULL DEFAULT (0), "bytes_total" bigint, "files_done" integer NOT NULL DEFAULT (0), "files_total" integer, "attempts" integer NOT NULL DEFAULT (0), "error" text, "retry_of" varchar(36), "run_by" varchar(128), "created_at" bigint NOT NULL, "started_at" bigint, "finished_at" bigint, "updated_at" bigint NOT NULL, "lease_owner" varchar(128), "lease_expires_at" bigint)`);
        await queryRunner.query(`INSERT INTO "jobs"("id", "kind", "repo_id", "repo_label", "revision", "paths", "params", "state", "cancel_requested", "bytes_done", "bytes_total", "files_done", "files_total", "attempts", "error", "retry_of", "run_by", "created_at", "started_at", "finished_at", "updated_at", "lease_owner", "lease_expires_at") SELECT "id", "kind", "repo_id", "repo_label", "revision", "paths", "params", "state", "cancel_requested", "bytes_done", "bytes_total", "files_done", "files_total", "attempts", "error", "retry_of", "run_by", "created_at", "started_at", "finished_at", "updated_at", "lease_owner", "lease_expires_at" FROM "temporary_jobs"`);
        await queryRunner.query(`DROP TABLE "temporary_jobs"`);
        await queryRunner.query(`CREATE INDEX "ix_jobs_repo" ON "jobs" ("repo_id") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_created" ON "jobs" ("created_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_updated" ON "jobs" ("updated_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_state_kind" ON "jobs" ("state", "kind") `);
        await queryRunner.query(`DROP INDEX "ix_webhook_deliveries_hook"`);
        await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
        await queryRunner.query(`DROP INDEX "ix_webhook_watches_target"`);
        await queryRunner.query(`DROP TABLE "webhook_watches"`);
        await queryRunner.query(`DROP INDEX "ix_webhooks_user"`);
        await queryRunner.query(`DROP TABLE "webhooks"`);
    }

}
