-- Retry safety for every write that carries a client-made request id (staff and authorities alike):
-- each (principal, request id) is applied once. The row keeps what the request was (its RPC and a
-- SHA-256 of its content, so a reused id with other content is refused) and what it did: the appeal
-- it created or changed and, for an authority's request, the exact answer sent (a retry gets the
-- same bytes, with the same signed receipt). Replaces agency_requests; rows copied from it have no
-- fingerprint and are matched by RPC alone.
CREATE TABLE requests (
    principal     TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    rpc           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    appeal_number TEXT NOT NULL,
    response      BLOB,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (principal, request_id)
);
INSERT INTO requests (principal, request_id, rpc, fingerprint, appeal_number, response, created_at)
SELECT 'agency:' || r.authority_code, r.request_id, r.rpc, '', a.number, r.response, r.created_at
FROM agency_requests r JOIN cases c ON c.id = r.case_id JOIN appeals a ON a.id = c.appeal_id;
DROP TABLE agency_requests;

-- Acknowledgements look up the assignment events of an authority's cases.
CREATE INDEX events_case ON events (case_id, kind);
