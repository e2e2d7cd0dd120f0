#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void migrate_load_embedded(struct migration_set *set)
{
    set->n = migrate_embedded_count;
    set->v = xcalloc((size_t)set->n, sizeof(*set->v));
    memcpy(set->v, migrate_embedded, (size_t)set->n * sizeof(*set->v));
    set->owned = NULL;
    set->nowned = 0;
}

static const char *own(struct migration_set *set, char *s)
{
    set->owned = xrealloc(set->owned, (size_t)(set->nowned + 1) * sizeof(*set->owned));
    set->owned[set->nowned++] = s;
    return s;
}

static int by_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[4096];
    size_t n;

    if (!f) {
        util_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    if (!b.data)
        buf_add(&b, "", 0);
    return b.data;
}

int migrate_load_dir(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    DIR *d = NULL;
    struct dirent *de;
    int rc = HV_EIO;

    memset(set, 0, sizeof(*set));
    d = opendir(dir);
    if (!d) {
        util_err(err, errlen, "%s: %s", dir, strerror(errno));
        goto out;
    }
    while ((de = readdir(d))) {
        int version, len = 0;
        size_t nl = strlen(de->d_name);
        if (nl < 10 || strcmp(de->d_name + nl - 4, ".sql") != 0)
            continue;
        if (sscanf(de->d_name, "%4d_%n", &version, &len) != 1 || len != 5) {
            util_err(err, errlen, "%s/%s: expected a name like 0001_name.sql", dir, de->d_name);
            rc = HV_EINVAL;
            goto out;
        }
        for (size_t i = 5; i < nl - 4; i++) {
            char c = de->d_name[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                util_err(err, errlen, "%s/%s: expected a name like 0001_name.sql", dir,
                         de->d_name);
                rc = HV_EINVAL;
                goto out;
            }
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        char *sql = read_file(path, err, errlen);
        if (!sql)
            goto out;
        set->v = xrealloc(set->v, (size_t)(set->n + 1) * sizeof(*set->v));
        set->v[set->n].version = version;
        set->v[set->n].name = own(set, xstrndup(de->d_name + 5, nl - 9));
        set->v[set->n].sql = own(set, sql);
        set->n++;
    }
    qsort(set->v, (size_t)set->n, sizeof(*set->v), by_version);
    for (int i = 1; i < set->n; i++)
        if (set->v[i].version == set->v[i - 1].version) {
            util_err(err, errlen, "%s: two migrations with version %04d", dir, set->v[i].version);
            rc = HV_EINVAL;
            goto out;
        }
    rc = 0;
out:
    if (d)
        closedir(d);
    if (rc)
        migrate_set_cleanup(set);
    return rc;
}

void migrate_set_cleanup(struct migration_set *set)
{
    for (int i = 0; i < set->nowned; i++)
        free(set->owned[i]);
    free(set->owned);
    free(set->v);
    memset(set, 0, sizeof(*set));
}
