import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteGated1795871318986 implements MigrationInterface {
    name = 'Gated1795871318986'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_gates" ("repo_id" varchar(36) PRIMARY KEY NOT NULL, "mode" varchar(8) NOT NULL)`);
        await queryRunner.query(`CREATE TABLE "repo_access_requests" ("repo_id" varchar(36) NOT NULL, "user_id" integer NOT NULL, "status" varchar(16) NOT NULL, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, "granted" boolean NOT NULL DEFAULT (0), "rejection_reason" varchar(1024), PRIMARY KEY ("repo_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_access_requests_list" ON "repo_access_requests" ("repo_id", "status", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_repo_access_requests_list"`);
        await queryRunner.query(`DROP TABLE "repo_access_requests"`);
        await queryRunner.query(`DROP TABLE "repo_gates"`);
    }

}
