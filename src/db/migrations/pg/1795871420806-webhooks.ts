import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgWebhooks1795871420806 implements MigrationInterface {
    name = 'Webhooks1795871420806'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "webhooks" ("id" character varying(24) NOT NULL, "user_id" integer NOT NULL, "url" character varying(2048) NOT NULL, "secret" character varying(256), "domains" text NOT NULL, "watched" text NOT NULL, "disabled" boolean NOT NULL DEFAULT false, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, CONSTRAINT "PK_9e8795cfc899ab7bdaa831e8527" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhooks_user" ON "webhooks"  ("user_id") `);
        await queryRunner.query(`CREATE TABLE "webhook_watches" ("webhook_id" character varying(24) NOT NULL, "kind" character varying(16) NOT NULL, "name_key" character varying(300) NOT NULL, CONSTRAINT "PK_7f07d2d7a982c4416de18e92315" PRIMARY KEY ("webhook_id", "kind", "name_key"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhook_watches_target" ON "webhook_watches"  ("kind", "name_key") `);
        await queryRunner.query(`CREATE TABLE "webhook_deliveries" ("id" character varying(36) NOT NULL, "webhook_id" character varying(24) NOT NULL, "job_id" character varying(36), "scope" character varying(32) NOT NULL, "action" character varying(16) NOT NULL, "repo_id" character varying(36) NOT NULL, "payload" text NOT NULL, "state" character varying(16) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "response_status" integer, "error" text, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, "delivered_at" bigint, CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_hook" ON "webhook_deliveries"  ("webhook_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "run_after" bigint`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "run_after"`);
        await queryRunner.query(`DROP INDEX "ix_webhook_deliveries_hook"`);
        await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
        await queryRunner.query(`DROP INDEX "ix_webhook_watches_target"`);
        await queryRunner.query(`DROP TABLE "webhook_watches"`);
        await queryRunner.query(`DROP INDEX "ix_webhooks_user"`);
        await queryRunner.query(`DROP TABLE "webhooks"`);
    }

}
