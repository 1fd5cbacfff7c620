import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgCollections1795879716491 implements MigrationInterface {
    name = 'Collections1795879716491'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "collections" ("id" character varying(24) NOT NULL, "namespace" character varying(96) NOT NULL, "title" character varying(256) NOT NULL, "description" text, "private" boolean NOT NULL DEFAULT false, "theme" character varying(16) NOT NULL, "position" integer NOT NULL DEFAULT '0', "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL, CONSTRAINT "PK_21c00b1ebbd41ba1354242c5c4e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_collections_updated" ON "collections"  ("updated_at") `);
        await queryRunner.query(`CREATE INDEX "ix_collections_namespace" ON "collections"  ("namespace", "position") `);
        await queryRunner.query(`CREATE TABLE "collection_items" ("id" character varying(24) NOT NULL, "collection_id" character varying(24) NOT NULL, "type" character varying(16) NOT NULL, "ref" character varying(128) NOT NULL, "note" text, "position" integer NOT NULL, "created_at" bigint NOT NULL, CONSTRAINT "PK_5f299da96958a920ab58871ea57" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_collection_items_target" ON "collection_items"  ("ref") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "ux_collection_items_ref" ON "collection_items"  ("collection_id", "type", "ref") `);
        await queryRunner.query(`CREATE INDEX "ix_collection_items_order" ON "collection_items"  ("collection_id", "position") `);
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
