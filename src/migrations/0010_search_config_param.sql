-- The text search configuration of a message is no longer looked up by a
-- trigger for every inserted row (a plpgsql call and a join per event cut the
-- batching writer to a sixth): havend reads it once when it loads a meeting's
-- live room (transcript_search_config of the meeting's language) and passes it
-- with each message it stores.  Rows written some other way get none and are
-- not searched, as before for events that are not messages.
DROP TRIGGER events_ts_config ON events;
DROP FUNCTION transcript_set_ts_config();
