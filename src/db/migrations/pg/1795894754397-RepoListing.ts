import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgRepoListing1795894754397 implements MigrationInterface {
    name = 'RepoListing1795894754397'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_listing" ("repo_id" character varying(36) NOT NULL, "head_sha" character varying(64) NOT NULL, "last_modified" bigint NOT NULL, "card" text, CONSTRAINT "PK_ee421bf4e8c4b595c112ddbb578" PRIMARY KEY ("repo_id"))`);
        await queryRunner.query(`CREATE TABLE "repo_listing_tags" ("repo_id" character varying(36) NOT NULL, "tag" character varying(200) NOT NULL, CONSTRAINT "PK_072dd543a21e40554675477e4ef" PRIMARY KEY ("repo_id", "tag"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_listing_tags_tag" ON "repo_listing_tags"  ("tag", "repo_id") `);
        await queryRunner.query(`CREATE INDEX "ix_repositories_type_created" ON "repositories"  ("type", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_repositories_type_created"`);
        await queryRunner.query(`DROP INDEX "ix_repo_listing_tags_tag"`);
        await queryRunner.query(`DROP TABLE "repo_listing_tags"`);
        await queryRunner.query(`DROP TABLE "repo_listing"`);
    }

}
