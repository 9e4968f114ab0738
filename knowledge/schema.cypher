// Casewise case graph: constraints and indexes. Applied at start-up and by `casewise graph init`;
// every statement is IF NOT EXISTS, so applying it again changes nothing. Statements end with ';'.
// The model is described in knowledge/README.md.

// Every node kind is merged on its id (or, for identifiers, its normalised value).
CREATE CONSTRAINT case_id IF NOT EXISTS FOR (n:Case) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT party_id IF NOT EXISTS FOR (n:Party) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT person_id IF NOT EXISTS FOR (n:Person) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT organisation_id IF NOT EXISTS FOR (n:Organisation) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT evidence_id IF NOT EXISTS FOR (n:Evidence) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT event_id IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT routing_decision_id IF NOT EXISTS FOR (n:RoutingDecision) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT address_value IF NOT EXISTS FOR (n:Address) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT phone_value IF NOT EXISTS FOR (n:Phone) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT email_value IF NOT EXISTS FOR (n:Email) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT bank_account_value IF NOT EXISTS FOR (n:BankAccount) REQUIRE n.value IS UNIQUE;

// GET /v1/cases filters on type, status and due date and orders by due date, then priority.
CREATE INDEX case_type IF NOT EXISTS FOR (n:Case) ON (n.type);
CREATE INDEX case_status IF NOT EXISTS FOR (n:Case) ON (n.status);
CREATE INDEX case_due_at IF NOT EXISTS FOR (n:Case) ON (n.due_at);
// The timeline orders a case's events by time.
CREATE INDEX event_at IF NOT EXISTS FOR (n:Event) ON (n.at);

// Recommendations and the experts' decisions on them (service/recommend/).
CREATE CONSTRAINT recommendation_id IF NOT EXISTS FOR (n:Recommendation) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT expert_id IF NOT EXISTS FOR (n:Expert) REQUIRE n.id IS UNIQUE;
// One decision per recommendation: its id is derived from the recommendation's, so of two
// experts deciding at once the second is refused (409 already-decided).
CREATE CONSTRAINT expert_decision_id IF NOT EXISTS FOR (n:ExpertDecision) REQUIRE n.id IS UNIQUE;
// Scores are learned from the decisions of a case type.
CREATE INDEX expert_decision_case_type IF NOT EXISTS FOR (n:ExpertDecision) ON (n.case_type);

// Users and API keys (service/auth/store.py): one user per name, one key per id.
CREATE CONSTRAINT user_name IF NOT EXISTS FOR (n:User) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.id IS UNIQUE;
// Changes admins made to people and keys (service/auth/people.py), newest first; one AuthState.
CREATE CONSTRAINT auth_change_id IF NOT EXISTS FOR (n:AuthChange) REQUIRE n.id IS UNIQUE;
CREATE INDEX auth_change_at IF NOT EXISTS FOR (n:AuthChange) ON (n.at);
CREATE CONSTRAINT auth_state_id IF NOT EXISTS FOR (n:AuthState) REQUIRE n.id IS UNIQUE;
// Signed-in sessions (unconnected nodes, id = SHA-256 of the cookie's token), looked up on every
// request and purged when expired.
CREATE CONSTRAINT session_id IF NOT EXISTS FOR (n:Session) REQUIRE n.id IS UNIQUE;
CREATE INDEX session_expires_at IF NOT EXISTS FOR (n:Session) ON (n.expires_at);

// Simulation replays a ruleset's logged decisions oldest first (service/simulation/log.py).
CREATE INDEX routing_decision_ruleset_at IF NOT EXISTS FOR (n:RoutingDecision) ON (n.ruleset, n.at);

// The decision log (service/decisionlog/): GET /v1/decisions lists newest first by time, by a
// range seek on (version, at) when it asks for one version, on (ruleset, at) for one ruleset,
// and on `at` otherwise, so that a page costs about its page whatever the filter. Every
// decision writes each of these index entries, so there are no others. The single ruleset and
// version indexes of earlier releases go.
CREATE INDEX routing_decision_at IF NOT EXISTS FOR (n:RoutingDecision) ON (n.at);
CREATE INDEX routing_decision_version_at IF NOT EXISTS FOR (n:RoutingDecision) ON (n.version, n.at);
DROP INDEX routing_decision_ruleset IF EXISTS;
DROP INDEX routing_decision_version IF EXISTS;
CREATE CONSTRAINT ruleset_version_hash IF NOT EXISTS FOR (n:RulesetVersion) REQUIRE n.hash IS UNIQUE;
// Every ruleset and playbook version that served (service/graph/versions.py), listed by name.
CREATE INDEX ruleset_version_name IF NOT EXISTS FOR (n:RulesetVersion) ON (n.name);

// Notes and documents on cases (service/graph/notes.py, documents.py): merged on their ids.
CREATE CONSTRAINT note_id IF NOT EXISTS FOR (n:Note) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE;

// The worklist's search box (service/graph/search.py): case ids and attributes (policy numbers,
// references), party names and ids, and identifier values, in one full-text index.
CREATE FULLTEXT INDEX case_search IF NOT EXISTS
FOR (n:Case|Party|Address|Phone|Email|BankAccount) ON EACH [n.id, n.name, n.value, n.attributes];
