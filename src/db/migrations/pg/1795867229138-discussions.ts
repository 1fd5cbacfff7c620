import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgDiscussions1795867229138 implements MigrationInterface {
    name = 'Discussions1795867229138'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "discussions" ("repo_id" character varying(36) NOT NULL, "num" integer NOT NULL, "is_pull_request" boolean NOT NULL, "title" character varying(512) NOT NULL, "status" character varying(16) NOT NULL, "author_id" integer, "author_name" character varying(96) NOT NULL, "base_ref" character varying(1024), "start_oid" character varying(40), "merge_commit_id" character varying(40), "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, CONSTRAINT "PK_8efc7bb85ce3640006ad309870d" PRIMARY KEY ("repo_id", "num"))`);
        await queryRunner.query(`CREATE INDEX "ix_discussions_repo_created" ON "discussions"  ("repo_id", "created_at") `);
        await queryRunner.query(`CREATE TABLE "discussion_events" ("id" character varying(24) NOT NULL, "repo_id" character varying(36) NOT NULL, "num" integer NOT NULL, "seq" integer NOT NULL, "type" character varying(32) NOT NULL, "author_id" integer, "author_name" character varying(96), "created_at" bigint NOT NULL, "data" text NOT NULL, CONSTRAINT "PK_28b8cc32f33161a2f7bac22b42b" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_discussion_events_seq" ON "discussion_events"  ("repo_id", "num", "seq") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_discussion_events_seq"`);
        await queryRunner.query(`DROP TABLE "discussion_events"`);
        await queryRunner.query(`DROP INDEX "ix_discussions_repo_created"`);
        await queryRunner.query(`DROP TABLE "discussions"`);
    }

}
