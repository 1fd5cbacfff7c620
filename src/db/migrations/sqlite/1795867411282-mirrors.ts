import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteMirrors1795867411282 implements MigrationInterface {
    name = 'SqliteMirrors1795867411282'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "mirrors" ("repo_id" varchar(36) PRIMARY KEY NOT NULL, "upstream_url" varchar(512) NOT NULL, "upstream_id" varchar(256) NOT NULL, "source" varchar(16) NOT NULL, "revision" varchar(256), "include" text NOT NULL DEFAULT ('[]'), "exclude" text NOT NULL DEFAULT ('[]'), "include_prs" boolean NOT NULL DEFAULT (0), "state" varchar(16) NOT NULL DEFAULT ('new'), "last_error" text, "refs_fetched_at" bigint, "upstream_revision" varchar(64), "failures" text NOT NULL DEFAULT ('{}'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" bigint NOT NULL)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "mirrors"`);
    }

}
