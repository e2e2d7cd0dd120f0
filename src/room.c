#include "room.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "util.h"

struct room *room_new(const char *slug, int ring_cap)
{
    struct room *r = xcalloc(1, sizeof(*r));
    r->slug = xstrdup(slug);
    r->next_seq = 1;
    r->ring_cap = ring_cap > 0 ? ring_cap : 1;
    r->ring = xcalloc((size_t)r->ring_cap, sizeof(*r->ring));
    r->dedupe = json_object();
    r->authors = json_object();
    return r;
}

void room_free(struct room *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->ring_len; i++)
        frame_unref(r->ring[(r->ring_start + i) % r->ring_cap].frame);
    for (int i = 0; i < r->nmembers; i++)
        free(r->members[i].name);
    free(r->members);
    free(r->ring);
    json_decref(r->dedupe);
    json_decref(r->authors);
    free(r->slug);
    free(r->meeting_name);
    free(r->topic);
    free(r);
}

struct room_member *room_member_by_no(struct room *r, int no)
{
    if (no < 1 || no > r->nmembers)
        return NULL;
    return &r->members[no - 1];
}

struct room_member *room_member_by_attendee(struct room *r, const char *attendee_id)
{
    if (!attendee_id || !*attendee_id)
        return NULL;
    for (int i = 0; i < r->nmembers; i++)
        if (strcmp(r->members[i].attendee_id, attendee_id) == 0)
            return &r->members[i];
    return NULL;
}

struct room_member *room_member_add(struct room *r, int no, const char *attendee_id,
                                    const char *name, const char *role)
{
    if (no <= 0)
        no = r->nmembers + 1;
    if (no > r->nmembers) {
        /* Recovered numbers may arrive out of order: fill the gap. */
        r->members = xrealloc(r->members, (size_t)no * sizeof(*r->members));
        for (int i = r->nmembers; i < no; i++) {
            memset(&r->members[i], 0, sizeof(r->members[i]));
            r->members[i].no = i + 1;
            r->members[i].name = xstrdup("");
            snprintf(r->members[i].role, sizeof(r->members[i].role), "attendee");
        }
        r->nmembers = no;
    }
    struct room_member *m = &r->members[no - 1];
    free(m->name);
    m->name = xstrdup(name);
    snprintf(m->attendee_id, sizeof(m->attendee_id), "%s", attendee_id ? attendee_id : "");
    snprintf(m->role, sizeof(m->role), "%s", role);
    return m;
}

static void dedupe_key(char *key, size_t len, int member_no, const char *cmid)
{
    snprintf(key, len, "%d:%s", member_no, cmid);
}

int64_t room_dedupe_get(struct room *r, int member_no, const char *client_msg_id)
{
    char key[96];
    dedupe_key(key, sizeof(key), member_no, client_msg_id);
    json_t *v = json_object_get(r->dedupe, key);
    return v ? (int64_t)json_integer_value(v) : 0;
}

void room_dedupe_put(struct room *r, int member_no, const char *client_msg_id, int64_t seq)
{
    char key[96];
    dedupe_key(key, sizeof(key), member_no, client_msg_id);
    json_object_set_new(r->dedupe, key, json_integer(seq));
}

void room_dedupe_forget(struct room *r, int member_no, const char *client_msg_id)
{
    char key[96];
    dedupe_key(key, sizeof(key), member_no, client_msg_id);
    json_object_del(r->dedupe, key);
}

int room_author(struct room *r, int64_t seq)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)seq);
    return (int)json_integer_value(json_object_get(r->authors, key));
}

void room_author_set(struct room *r, int64_t seq, int member)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)seq);
    json_object_set_new(r->authors, key, json_integer(member));
}

void room_ring_push(struct room *r, int64_t seq, struct frame *frame)
{
    int slot;
    if (r->ring_len == r->ring_cap) {
        slot = r->ring_start;
        frame_unref(r->ring[slot].frame);
        r->ring_start = (r->ring_start + 1) % r->ring_cap;
    } else {
        slot = (r->ring_start + r->ring_len) % r->ring_cap;
        r->ring_len++;
    }
    r->ring[slot].seq = seq;
    r->ring[slot].frame = frame_ref(frame);
}

void room_ring_replace(struct room *r, int64_t seq, struct frame *frame)
{
    for (int i = 0; i < r->ring_len; i++) {
        struct room_event_slot *sl = &r->ring[(r->ring_start + i) % r->ring_cap];
        if (sl->seq == seq) {
            frame_unref(sl->frame);
            sl->frame = frame_ref(frame);
            return;
        }
    }
}

int64_t room_ring_first_seq(const struct room *r)
{
    if (!r->ring_len)
        return r->last_delivered + 1;
    return r->ring[r->ring_start].seq;
}

int room_ring_range(const struct room *r, int64_t after, int64_t before, int max, bool from_end,
                    struct frame **out)
{
    int first = -1, count = 0;
    for (int i = 0; i < r->ring_len; i++) {
        int64_t seq = r->ring[(r->ring_start + i) % r->ring_cap].seq;
        if (seq <= after || (before > 0 && seq >= before))
            continue;
        if (first < 0)
            first = i;
        count++;
    }
    if (first < 0 || max <= 0)
        return 0;
    if (count > max) {
        if (from_end)
            first += count - max;
        count = max;
    }
    for (int i = 0; i < count; i++)
        out[i] = r->ring[(r->ring_start + first + i) % r->ring_cap].frame;
    return count;
}
