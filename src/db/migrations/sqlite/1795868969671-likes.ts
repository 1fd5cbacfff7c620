import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteLikes1795868969671 implements MigrationInterface {
    name = 'Likes1795868969671'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_likes" ("user_id" integer NOT NULL, "repo_id" varchar(36) NOT NULL, "created_at" bigint NOT NULL, PRIMARY KEY ("user_id", "repo_id"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_likes_repo" ON "repo_likes" ("repo_id", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_repo_likes_repo"`);
        await queryRunner.query(`DROP TABLE "repo_likes"`);
    }

}
