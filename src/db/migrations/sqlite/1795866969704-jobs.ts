import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteJobs1795866969704 implements MigrationInterface {
    name = 'Jobs1795866969704'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "jobs" ("id" varchar(36) PRIMARY KEY NOT NULL, "kind" varchar(64) NOT NULL, "repo_id" varchar(36), "repo_label" varchar(300), "revision" varchar(255), "paths" text NOT NULL, "params" text NOT NULL, "state" varchar(16) NOT NULL, "cancel_requested" boolean NOT NULL DEFAULT (0), "bytes_done" bigint NOT NULL DEFAULT (0), "bytes_total" bigint, "files_done" integer NOT NULL DEFAULT (0), "files_total" integer, "attempts" integer NOT NULL DEFAULT (0), "error" text, "retry_of" varchar(36), "run_by" varchar(128), "created_at" bigint NOT NULL, "started_at" bigint, "finished_at" bigint, "updated_at" bigint NOT NULL, "lease_owner" varchar(128), "lease_expires_at" bigint)`);
        await queryRunner.query(`CREATE INDEX "ix_jobs_repo" ON "jobs" ("repo_id") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_created" ON "jobs" ("created_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_updated" ON "jobs" ("updated_at") `);
        await queryRunner.query(`CREATE INDEX "ix_jobs_state_kind" ON "jobs" ("state", "kind") `);
        await queryRunner.query(`CREATE TABLE "job_logs" ("job_id" varchar(36) NOT NULL, "seq" integer NOT NULL, "at" bigint NOT NULL, "line" text NOT NULL, PRIMARY KEY ("job_id", "seq"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "job_logs"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_state_kind"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_updated"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_created"`);
        await queryRunner.query(`DROP INDEX "ix_jobs_repo"`);
        await queryRunner.query(`DROP TABLE "jobs"`);
    }

}
