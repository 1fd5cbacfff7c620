import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteDiscussions1795867219640 implements MigrationInterface {
    name = 'Discussions1795867219640'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "discussions" ("repo_id" varchar(36) NOT NULL, "num" integer NOT NULL, "is_pull_request" boolean NOT NULL, "title" varchar(512) NOT NULL, "status" varchar(16) NOT NULL, "author_id" integer, "author_name" varchar(96) NOT NULL, "base_ref" varchar(1024), "start_oid" varchar(40), "merge_commit_id" varchar(40), "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, PRIMARY KEY ("repo_id", "num"))`);
        await queryRunner.query(`CREATE INDEX "ix_discussions_repo_created" ON "discussions" ("repo_id", "created_at") `);
        await queryRunner.query(`CREATE TABLE "discussion_events" ("id" varchar(24) PRIMARY KEY NOT NULL, "repo_id" varchar(36) NOT NULL, "num" integer NOT NULL, "seq" integer NOT NULL, "type" varchar(32) NOT NULL, "author_id" integer, "author_name" varchar(96), "created_at" bigint NOT NULL, "data" text NOT NULL)`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_discussion_events_seq" ON "discussion_events" ("repo_id", "num", "seq") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_discussion_events_seq"`);
        await queryRunner.query(`DROP TABLE "discussion_events"`);
        await queryRunner.query(`DROP INDEX "ix_discussions_repo_created"`);
        await queryRunner.query(`DROP TABLE "discussions"`);
    }

}
