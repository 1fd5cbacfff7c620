import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgMirrors1795867419427 implements MigrationInterface {
    name = 'PgMirrors1795867419427'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "mirrors" ("repo_id" character varying(36) NOT NULL, "upstream_url" character varying(512) NOT NULL, "upstream_id" character varying(256) NOT NULL, "source" character varying(16) NOT NULL, "revision" character varying(256), "include" text NOT NULL DEFAULT '[]', "exclude" text NOT NULL DEFAULT '[]', "include_prs" boolean NOT NULL DEFAULT false, "state" character varying(16) NOT NULL DEFAULT 'new', "last_error" text, "refs_fetched_at" bigint, "upstream_revision" character varying(64), "failures" text NOT NULL DEFAULT '{}', "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" bigint NOT NULL, CONSTRAINT "PK_1ed074c3432e05c4d91c070b457" PRIMARY KEY ("repo_id"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "mirrors"`);
    }

}
