/*
 * migrate: the schema migrations, versioned SQL files applied in order.
 *
 * They are built into havend from src/migrations (see scripts/embed-sql), or
 * read from a directory named in the config.  The store applies the pending
 * ones when it connects, each in its own transaction together with its row in
 * schema_migrations, so a failing migration leaves the database as it was.
 * A migration must not contain transaction control statements.
 */
#ifndef HAVEN_MIGRATE_H
#define HAVEN_MIGRATE_H

#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrate_embedded[];
extern const int migrate_embedded_count;

struct migration_set {
    struct migration *v;
    int n;
    char **owned;  /* strings of a set read from a directory, freed with it */
    int nowned;
};

/* Read NNNN_name.sql files from dir (startup only: blocking file reads).
 * Returns 0, or HV_EINVAL/HV_EIO with err filled. */
int migrate_load_dir(struct migration_set *set, const char *dir, char *err, size_t errlen);
/* The built-in set (borrowed strings). */
void migrate_load_embedded(struct migration_set *set);
void migrate_set_cleanup(struct migration_set *set);

#endif
