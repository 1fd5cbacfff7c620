import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgGated1795871322707 implements MigrationInterface {
    name = 'Gated1795871322707'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_gates" ("repo_id" character varying(36) NOT NULL, "mode" character varying(8) NOT NULL, CONSTRAINT "PK_50deee9fc490ce26ecbaed058ca" PRIMARY KEY ("repo_id"))`);
        await queryRunner.query(`CREATE TABLE "repo_access_requests" ("repo_id" character varying(36) NOT NULL, "user_id" integer NOT NULL, "status" character varying(16) NOT NULL, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, "granted" boolean NOT NULL DEFAULT false, "rejection_reason" character varying(1024), CONSTRAINT "PK_c53b2eca73924074d69899b6ce1" PRIMARY KEY ("repo_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_access_requests_list" ON "repo_access_requests"  ("repo_id", "status", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_repo_access_requests_list"`);
        await queryRunner.query(`DROP TABLE "repo_access_requests"`);
        await queryRunner.query(`DROP TABLE "repo_gates"`);
    }

}
