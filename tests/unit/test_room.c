/* Unit tests of room: members, dedupe and the ring of recent events. */
#include <stdio.h>

#include "check.h"
#include "frame.h"
#include "room.h"

int main(void)
{
    struct room *r = room_new("tuesday", 4);
    struct room_member *m = room_member_add(r, 0, "a1", "Sam", "attendee");
    CHECK_EQ_INT(m->no, 1);
    m = room_member_add(r, 0, "a2", "Jo", "visitor");
    CHECK_EQ_INT(m->no, 2);
    CHECK(room_member_by_attendee(r, "a2") == room_member_by_no(r, 2));
    CHECK(room_member_by_attendee(r, "zz") == NULL);
    CHECK(room_member_by_attendee(r, "") == NULL);
    CHECK(room_member_by_no(r, 3) == NULL);
    /* recovered numbers out of order leave no hole */
    room_member_add(r, 5, "a5", "Lee", "attendee");
    CHECK_EQ_INT(r->nmembers, 5);
    CHECK_EQ_STR(room_member_by_no(r, 5)->name, "Lee");
    CHECK_EQ_STR(room_member_by_no(r, 4)->name, "");

    CHECK_EQ_INT(room_dedupe_get(r, 1, "c1"), 0);
    room_dedupe_put(r, 1, "c1", 7);
    CHECK_EQ_INT(room_dedupe_get(r, 1, "c1"), 7);
    CHECK_EQ_INT(room_dedupe_get(r, 2, "c1"), 0);
    room_dedupe_put(r, 2, "c2", 8);
    room_dedupe_forget(r, 2, "c2");
    CHECK_EQ_INT(room_dedupe_get(r, 2, "c2"), 0);
    CHECK_EQ_INT(room_dedupe_get(r, 1, "c1"), 7);

    CHECK_EQ_INT(room_ring_first_seq(r), 1);
    struct frame *out[8];
    for (int seq = 1; seq <= 6; seq++) {
        char text[32];
        snprintf(text, sizeof(text), "{\"seq\":%d}", seq);
        struct frame *f = frame_new(text, (size_t)snprintf(NULL, 0, "%s", text));
        room_ring_push(r, seq, f);
        frame_unref(f);
        r->last_delivered = seq;
    }
    /* capacity 4: seqs 3..6 remain */
    CHECK_EQ_INT(room_ring_first_seq(r), 3);
    CHECK_EQ_INT(room_ring_range(r, 0, 0, 8, false, out), 4);
    CHECK_EQ_STR(frame_payload(out[0]), "{\"seq\":3}");
    CHECK_EQ_INT(room_ring_range(r, 4, 0, 8, false, out), 2);
    CHECK_EQ_STR(frame_payload(out[0]), "{\"seq\":5}");
    CHECK_EQ_INT(room_ring_range(r, 0, 0, 2, true, out), 2);
    CHECK_EQ_STR(frame_payload(out[0]), "{\"seq\":5}");
    CHECK_EQ_INT(room_ring_range(r, 0, 0, 2, false, out), 2);
    CHECK_EQ_STR(frame_payload(out[0]), "{\"seq\":3}");
    CHECK_EQ_INT(room_ring_range(r, 0, 5, 8, false, out), 2);
    CHECK_EQ_STR(frame_payload(out[1]), "{\"seq\":4}");
    CHECK_EQ_INT(room_ring_range(r, 6, 0, 8, false, out), 0);
    room_free(r);
    return check_done();
}
