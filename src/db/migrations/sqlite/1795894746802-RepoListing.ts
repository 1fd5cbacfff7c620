import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteRepoListing1795894746802 implements MigrationInterface {
    name = 'RepoListing1795894746802'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_listing" ("repo_id" varchar(36) PRIMARY KEY NOT NULL, "head_sha" varchar(64) NOT NULL, "last_modified" bigint NOT NULL, "card" text)`);
        await queryRunner.query(`CREATE TABLE "repo_listing_tags" ("repo_id" varchar(36) NOT NULL, "tag" varchar(200) NOT NULL, PRIMARY KEY ("repo_id", "tag"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_listing_tags_tag" ON "repo_listing_tags" ("tag", "repo_id") `);
        await queryRunner.query(`CREATE INDEX "ix_repositories_type_created" ON "repositories" ("type", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_repositories_type_created"`);
        await queryRunner.query(`DROP INDEX "ix_repo_listing_tags_tag"`);
        await queryRunner.query(`DROP TABLE "repo_listing_tags"`);
        await queryRunner.query(`DROP TABLE "repo_listing"`);
    }

}
