import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteCollections1795879704903 implements MigrationInterface {
    name = 'Collections1795879704903'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "collections" ("id" varchar(24) PRIMARY KEY NOT NULL, "namespace" varchar(96) NOT NULL, "title" varchar(256) NOT NULL, "description" text, "private" boolean NOT NULL DEFAULT (0), "theme" varchar(16) NOT NULL, "position" integer NOT NULL DEFAULT (0), "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL)`);
        await queryRunner.query(`CREATE INDEX "ix_collections_updated" ON "collections" ("updated_at") `);
        await queryRunner.query(`CREATE INDEX "ix_collections_namespace" ON "collections" ("namespace", "position") `);
        await queryRunner.query(`CREATE TABLE "collection_items" ("id" varchar(24) PRIMARY KEY NOT NULL, "collection_id" varchar(24) NOT NULL, "type" varchar(16) NOT NULL, "ref" varchar(128) NOT NULL, "note" text, "position" integer NOT NULL, "created_at" bigint NOT NULL)`);
        await queryRunner.query(`CREATE INDEX "ix_collection_items_target" ON "collection_items" ("ref") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "ux_collection_items_ref" ON "collection_items" ("collection_id", "type", "ref") `);
        await queryRunner.query(`CREATE INDEX "ix_collection_items_order" ON "collection_items" ("collection_id", "position") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_collection_items_order"`);
        await queryRunner.query(`DROP INDEX "ux_collection_items_ref"`);
        await queryRunner.query(`DROP INDEX "ix_collection_items_target"`);
        await queryRunner.query(`DROP TABLE "collection_items"`);
        await queryRunner.query(`DROP INDEX "ix_collections_namespace"`);
        await queryRunner.query(`DROP INDEX "ix_collections_updated"`);
        await queryRunner.query(`DROP TABLE "collections"`);
    }

}
