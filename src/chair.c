#include "chair.h"

#include <string.h>

void chair_init(struct chair *c, int share_limit_secs, bool crosstalk)
{
    memset(c, 0, sizeof(*c));
    c->phase = PHASE_WAITING;
    c->set.share_limit_secs = share_limit_secs;
    c->set.crosstalk = crosstalk;
    c->reading = -1;
}

/* The permission table (proto/PROTOCOL.md, "Roles and permissions"). The
 * lowest rank that may run each command. */
static const enum chair_rank needed[CMD_COUNT] = {
    [CMD_START] = RANK_CHAIR,
    [CMD_END] = RANK_CHAIR,
    [CMD_ADMIT] = RANK_COCHAIR,
    [CMD_SEND_TO_WAITING] = RANK_COCHAIR,
    [CMD_SETTINGS] = RANK_COCHAIR,
    [CMD_CALL] = RANK_COCHAIR,
    [CMD_END_SHARE] = RANK_COCHAIR,
    [CMD_READING] = RANK_COCHAIR,
    [CMD_TOPIC] = RANK_COCHAIR,
    [CMD_MUTE] = RANK_COCHAIR,
    [CMD_REMOVE] = RANK_COCHAIR,
    [CMD_DELETE_ANY] = RANK_COCHAIR,
    [CMD_GRANT] = RANK_CHAIR,
    [CMD_HAND_OVER] = RANK_CHAIR,
    [CMD_SEE_WAITING] = RANK_GREETER,
    [CMD_SEE_PRIVATE] = RANK_COCHAIR,
    [CMD_DM_ANYONE] = RANK_GREETER,
};

bool chair_allowed(enum chair_rank rank, enum chair_cmd cmd)
{
    return cmd >= 0 && cmd < CMD_COUNT && rank >= needed[cmd];
}

const char *chair_rank_name(enum chair_rank rank)
{
    static const char *const names[] = {"visitor", "attendee", "greeter", "co-chair", "chair"};
    return names[rank];
}

int chair_queue_position(const struct chair *c, int member)
{
    for (int i = 0; i < c->nqueue; i++)
        if (c->queue[i] == member)
            return i + 1;
    return 0;
}

bool chair_hand_raise(struct chair *c, int member)
{
    if (member <= 0 || c->sharer == member || chair_queue_position(c, member) ||
        c->nqueue == CHAIR_MAX_QUEUE)
        return false;
    c->queue[c->nqueue++] = member;
    return true;
}

bool chair_hand_lower(struct chair *c, int member)
{
    int pos = chair_queue_position(c, member);
    if (!pos)
        return false;
    memmove(&c->queue[pos - 1], &c->queue[pos], (size_t)(c->nqueue - pos) * sizeof(int));
    c->nqueue--;
    return true;
}

int chair_share_start(struct chair *c, int member, int64_t now_ms)
{
    if (member == 0) {
        if (!c->nqueue)
            return 0;
        member = c->queue[0];
    }
    chair_hand_lower(c, member);
    c->sharer = member;
    c->share_started_ms = now_ms;
    c->warned = false;
    c->time_up = false;
    return member;
}

int chair_share_end(struct chair *c)
{
    int was = c->sharer;
    c->sharer = 0;
    c->warned = c->time_up = false;
    return was;
}

static int64_t limit_at(const struct chair *c)
{
    return c->share_started_ms + (int64_t)c->set.share_limit_secs * 1000;
}

static int64_t warning_at(const struct chair *c)
{
    /* One minute before the limit; for limits of a minute or less, halfway. */
    int64_t lead = c->set.share_limit_secs > 60 ? 60000 : (int64_t)c->set.share_limit_secs * 500;
    return limit_at(c) - lead;
}

enum chair_tick chair_tick(struct chair *c, int64_t now_ms)
{
    if (!c->sharer)
        return TICK_NONE;
    if (!c->warned && now_ms >= warning_at(c)) {
        c->warned = true;
        return TICK_WARNING;
    }
    if (!c->time_up && now_ms >= limit_at(c)) {
        c->warned = true;
        c->time_up = true;
        return TICK_TIME_UP;
    }
    return TICK_NONE;
}

int64_t chair_next_deadline(const struct chair *c)
{
    if (!c->sharer || c->time_up)
        return -1;
    return c->warned ? limit_at(c) : warning_at(c);
}

bool chair_is_cochair(const struct chair *c, int member)
{
    for (int i = 0; i < c->ncochairs; i++)
        if (c->cochairs[i] == member)
            return true;
    return false;
}

void chair_cochair_add(struct chair *c, int member)
{
    if (member <= 0 || chair_is_cochair(c, member) || c->ncochairs == CHAIR_MAX_COCHAIRS)
        return;
    c->cochairs[c->ncochairs++] = member;
}

void chair_cochair_remove(struct chair *c, int member)
{
    for (int i = 0; i < c->ncochairs; i++)
        if (c->cochairs[i] == member) {
            memmove(&c->cochairs[i], &c->cochairs[i + 1],
                    (size_t)(c->ncochairs - i - 1) * sizeof(int));
            c->ncochairs--;
            return;
        }
}

int chair_succession(struct chair *c, const bool *present, int npresent)
{
    for (int i = 0; i < c->ncochairs; i++) {
        int m = c->cochairs[i];
        if (m > 0 && m < npresent && present[m]) {
            chair_cochair_remove(c, m);
            c->chair_member = m;
            return m;
        }
    }
    c->chair_member = 0;
    return 0;
}

void chair_forget(struct chair *c, int member)
{
    chair_hand_lower(c, member);
    if (c->sharer == member)
        chair_share_end(c);
    chair_cochair_remove(c, member);
    if (c->chair_member == member)
        c->chair_member = 0;
}
