"""The Cypher of the flow graph: one set of `$param`-only constants that Neo4j and FalkorDB both run.

Rules this file keeps (see DESIGN.md "Data model" and reference/local-stack.md §4):

- Every query is scoped by `$projectId`, on the node itself (`{projectId: $projectId}`), and reads of
  neighbours check the neighbour's `projectId` too. The one exception is `LIST_PROJECTS`.
- The subset both engines accept: no `datetime()` (timestamps are epoch ms from the caller), no
  `EXISTS {}`/`COUNT {}` subqueries, no `=~`, no APOC, no `CALL {}`, no map-valued properties (dicts
  and lists of dicts are JSON strings). Batches come in as `UNWIND $rows`.
- Replacing what hangs off a node (steps, personas, pages, connections, AFFECTS edges) is one query:
  collect the old, `FOREACH … DELETE`, then create the new, so no query ever sees a half-replaced flow (a
  FlowView is read in up to three queries, though, so it is not one snapshot).
- FalkorDB 4.16 ignores `WITH x WHERE x IS NULL` right after a leading `OPTIONAL MATCH` (the filter is
  dropped from the plan). Existence checks therefore count: `WITH count(x) AS found WHERE found = 0`.
- FalkorDB 4.16 can restore deleted edges wrongly when a query fails after deleting them (a step chain
  1->2->3 came back as 1->3->2 after a unique-constraint violation). So a query that deletes first checks,
  before deleting, whatever could make it fail later (e.g. a step id another flow already uses).
- Read queries return maps and scalars only (`properties(n)`, map literals), never driver node objects,
  so both adapters hand the same plain rows to the shared mapping code. Flow views are read as flat rows
  (flows, then FLOW_LINKS/FLOW_STEPS for their ids), because FalkorDB runs pattern comprehensions and
  OPTIONAL MATCH per record, which is slow for hundreds of flows.
- Flows and steps, read by the hundred, come back as one column per property (`f.name AS name`) rather than
  `properties(f)`: a client decodes a map key by key, so a 14-column row parses about twice as fast as the
  same properties as a map (see `bench/graph_bench.py`, "reads").
- REPLACE_STEPS and SET_FLOW_PAGES take a list of flows (`$flows`), so one query serves a single flow or a
  batch of them; a flow is never split across queries.
"""

from __future__ import annotations

#: The stored properties of a Flow node: the fields of `perceo.models.Flow`, by alias (a unit test keeps them equal).
FLOW_PROPERTIES = (
    "id", "projectId", "name", "description", "priority", "entryPoint", "riskScore", "coverageScore", "isActive",
    "source", "userEdited", "triggerConditions", "createdAt", "updatedAt",
)  # fmt: skip
#: The stored properties of a Step node that are fields of `perceo.models.Step` (flowId comes from the flow).
STEP_PROPERTIES = ("id", "order", "name", "actions", "expectedState", "timeoutMs", "retryCount")

#: `f`'s properties as columns named like them (a missing property is a null column).
_FLOW_COLUMNS = ", ".join(f"f.{name} AS `{name}`" for name in FLOW_PROPERTIES)
_STEP_COLUMNS = ", ".join(f"s.{name} AS `{name}`" for name in STEP_PROPERTIES)

# --------------------------------------------------------------------------------------------------
# Projects

#: Creates the project unless one with this id exists (then: no row).
CREATE_PROJECT = """
OPTIONAL MATCH (existing:Project {id: $projectId})
WITH count(existing) AS found
WHERE found = 0
CREATE (p:Project {id: $projectId})
SET p += $props
RETURN properties(p) AS project
"""

GET_PROJECT = """
MATCH (p:Project {id: $projectId})
RETURN properties(p) AS project
"""

#: The only unscoped query: the embedded store and operators list every project.
LIST_PROJECTS = """
MATCH (p:Project)
RETURN properties(p) AS project
ORDER BY p.createdAt, p.id
"""

#: Everything carrying the project's id, label by label (each label's lookup is indexed), then the project.
DELETE_PROJECT = """
MATCH (p:Project {id: $projectId})
OPTIONAL MATCH (s:Step {projectId: $projectId})
WITH p, collect(s) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (f:Flow {projectId: $projectId})
WITH p, collect(f) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (x:Persona {projectId: $projectId})
WITH p, collect(x) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (pg:Page {projectId: $projectId})
WITH p, collect(pg) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (a:ChangeAnalysis {projectId: $projectId})
WITH p, collect(a) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (r:TestRun {projectId: $projectId})
WITH p, collect(r) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (i:Insight {projectId: $projectId})
WITH p, collect(i) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (ar:AlertRule {projectId: $projectId})
WITH p, collect(ar) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (pr:Prediction {projectId: $projectId})
WITH p, collect(pr) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (m:FlowMetrics {projectId: $projectId})
WITH p, collect(m) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
OPTIONAL MATCH (k:ApiKey {projectId: $projectId})
WITH p, collect(k) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH DISTINCT p
DETACH DELETE p
RETURN 1 AS deleted
"""

# --------------------------------------------------------------------------------------------------
# Personas: natural key (projectId, name); an existing persona keeps its id.

UPSERT_PERSONAS = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (p:Persona {projectId: $projectId, name: row.name})
ON CREATE SET p.id = row.id
SET p.description = row.description, p.behaviors = row.behaviors, p.source = row.source
MERGE (project)-[:HAS_PERSONA]->(p)
RETURN properties(p) AS persona
"""

LIST_PERSONAS = """
MATCH (p:Persona {projectId: $projectId})
RETURN properties(p) AS persona
ORDER BY p.name
"""

DELETE_PERSONAS = """
MATCH (p:Persona {projectId: $projectId})
WHERE p.id IN $ids
DETACH DELETE p
RETURN count(p) AS deleted
"""

# --------------------------------------------------------------------------------------------------
# Flows: natural key (projectId, name); an existing flow keeps its id and createdAt.

UPSERT_FLOWS = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (f:Flow {projectId: $projectId, name: row.name})
ON CREATE SET f.id = row.id, f.createdAt = row.createdAt
SET f += row.props
MERGE (project)-[:HAS_FLOW]->(f)
RETURN properties(f) AS flow
"""

#: Replaces the FOR_PERSONA edges of each flow in `$flows` ([{flowId, names}]) with edges to the project's personas
#: of those names (unknown names are skipped). One row per flow found.
SET_PERSONAS_OF_FLOWS = """
UNWIND range(0, size($flows) - 1) AS i
WITH i, $flows[i] AS entry
MATCH (f:Flow {projectId: $projectId, id: entry.flowId})
OPTIONAL MATCH (f)-[old:FOR_PERSONA]->()
WITH i, f, collect(old) AS olds
FOREACH (r IN olds | DELETE r)
WITH i, f
OPTIONAL MATCH (p:Persona {projectId: $projectId})
WHERE p.name IN $flows[i].names
WITH i, f, collect(p) AS personas
FOREACH (p IN personas | CREATE (f)-[:FOR_PERSONA]->(p))
RETURN f.id AS flowId
"""

#: Replaces the CONNECTS_TO edges of each flow in `$flows` ([{flowId, ids, rows: [{id, order}]}]), kept in the
#: given order; ids of other projects' flows, and the flow itself, are skipped. One row per flow found.
SET_CONNECTIONS_OF_FLOWS = """
UNWIND range(0, size($flows) - 1) AS i
WITH i, $flows[i] AS entry
MATCH (f:Flow {projectId: $projectId, id: entry.flowId})
OPTIONAL MATCH (f)-[old:CONNECTS_TO]->()
WITH i, f, collect(old) AS olds
FOREACH (r IN olds | DELETE r)
WITH i, f
OPTIONAL MATCH (other:Flow {projectId: $projectId})
WHERE other.id IN $flows[i].ids AND other.id <> f.id
WITH i, f, collect(other) AS others
FOREACH (o IN others |
  FOREACH (row IN [r IN $flows[i].rows WHERE r.id = o.id] |
    CREATE (f)-[:CONNECTS_TO {order: row.order}]->(o)
  )
)
RETURN f.id AS flowId
"""

#: Replaces the VISITS edges of each flow in `$flows` ([{flowId, rows: [{route, order}]}]) in journey order; a
#: route without a Page gets one (no files yet). One row per flow found.
SET_FLOW_PAGES = """
UNWIND range(0, size($flows) - 1) AS i
WITH i, $flows[i] AS entry
MATCH (f:Flow {projectId: $projectId, id: entry.flowId})
OPTIONAL MATCH (f)-[old:VISITS]->()
WITH i, f, collect(old) AS olds
FOREACH (r IN olds | DELETE r)
WITH i, f
FOREACH (row IN $flows[i].rows |
  MERGE (pg:Page {projectId: $projectId, route: row.route})
  ON CREATE SET pg.files = []
  CREATE (f)-[:VISITS {order: row.order}]->(pg)
)
RETURN f.id AS flowId
"""

GET_FLOW = f"""
MATCH (f:Flow {{projectId: $projectId, id: $flowId}})
RETURN {_FLOW_COLUMNS}
"""

GET_FLOW_BY_NAME = f"""
MATCH (f:Flow {{projectId: $projectId, name: $name}})
RETURN {_FLOW_COLUMNS}
"""

LIST_FLOWS = f"""
MATCH (f:Flow {{projectId: $projectId}})
RETURN {_FLOW_COLUMNS}
ORDER BY f.name, f.id
"""

#: One page of the project's flows in (name, id) order: at most `$limit` after the key (`$afterName`, `$afterId`).
#: The first page passes two empty strings (no name is empty). Names are unique per project, so the id only
#: breaks ties that cannot happen; keeping it makes the key total whatever the constraints say.
LIST_FLOWS_PAGE = f"""
MATCH (f:Flow {{projectId: $projectId}})
WHERE f.name > $afterName OR (f.name = $afterName AND f.id > $afterId)
RETURN {_FLOW_COLUMNS}
ORDER BY f.name, f.id
LIMIT $limit
"""

#: Active flows with a VISITS edge to any of `$routes` (the impact lookup), each once. Pages first: a few
#: index hits, then their incoming VISITS edges.
FLOWS_VISITING = f"""
MATCH (pg:Page {{projectId: $projectId}})
WHERE pg.route IN $routes
WITH pg
MATCH (f:Flow)-[:VISITS]->(pg)
WHERE f.projectId = $projectId AND f.isActive = true
WITH DISTINCT f
RETURN {_FLOW_COLUMNS}
ORDER BY f.name
"""

#: Every route a flow of the project can be matched on, each once: the routes of its pages (every page a flow
#: visits is one) and the entry points of its active flows.
MATCHABLE_ROUTES = """
MATCH (pg:Page {projectId: $projectId})
RETURN pg.route AS route
UNION
MATCH (f:Flow {projectId: $projectId})
WHERE f.isActive = true AND f.entryPoint IS NOT NULL
RETURN f.entryPoint AS route
"""

#: Active flows that visit any of `$routes` or start at one of them (entry point), as flat rows: one per page
#: the flow visits (`route`, `rank` = VISITS order), all of its pages, not only the matching ones; a flow without
#: pages comes once with a null route. A flow can come from both halves, so rows may repeat. Pages first (`WITH
#: hit`), as in FLOWS_VISITING: without it FalkorDB starts from every flow of the project.
FLOWS_AT_ROUTES = f"""
MATCH (hit:Page {{projectId: $projectId}})
WHERE hit.route IN $routes
WITH hit
MATCH (f:Flow)-[:VISITS]->(hit)
WHERE f.projectId = $projectId AND f.isActive = true
WITH DISTINCT f
MATCH (f)-[v:VISITS]->(pg:Page)
WHERE pg.projectId = $projectId
RETURN {_FLOW_COLUMNS}, pg.route AS route, v.order AS rank
UNION ALL
MATCH (f:Flow {{projectId: $projectId}})
WHERE f.isActive = true AND f.entryPoint IN $routes
OPTIONAL MATCH (f)-[v:VISITS]->(pg:Page)
WHERE pg.projectId = $projectId
RETURN {_FLOW_COLUMNS}, pg.route AS route, v.order AS rank
"""

#: What hangs off the flows `$flowIds` (the rest of a FlowView), as flat rows: `kind` 1 = a visited page
#: (value: route, rank: VISITS order), 2 = a persona (value: name), 3 = a connected flow (value: id, rank:
#: CONNECTS_TO order). Flat rows instead of pattern comprehensions: FalkorDB evaluates a comprehension per
#: record (~0.1 ms per flow), a plain MATCH in bulk (~50x faster for a few hundred flows).
FLOW_LINKS = """
MATCH (f:Flow {projectId: $projectId})-[v:VISITS]->(pg:Page)
WHERE f.id IN $flowIds AND pg.projectId = $projectId
RETURN f.id AS flowId, 1 AS kind, pg.route AS value, v.order AS rank
UNION ALL
MATCH (f:Flow {projectId: $projectId})-[:FOR_PERSONA]->(p:Persona)
WHERE f.id IN $flowIds AND p.projectId = $projectId
RETURN f.id AS flowId, 2 AS kind, p.name AS value, 0 AS rank
UNION ALL
MATCH (f:Flow {projectId: $projectId})-[c:CONNECTS_TO]->(o:Flow)
WHERE f.id IN $flowIds AND o.projectId = $projectId
RETURN f.id AS flowId, 3 AS kind, o.id AS value, c.order AS rank
"""

#: The steps of the flows `$flowIds`, one row per step (ordered by the caller).
FLOW_STEPS = f"""
MATCH (f:Flow {{projectId: $projectId}})-[:HAS_STEP]->(s:Step)
WHERE f.id IN $flowIds AND s.projectId = $projectId
RETURN f.id AS flowId, {_STEP_COLUMNS}
"""

UPDATE_FLOW = """
MATCH (f:Flow {projectId: $projectId, id: $flowId})
SET f += $props
RETURN properties(f) AS flow
"""

#: Deletes the flows with their steps; edges to personas, pages and other flows go with them.
DELETE_FLOWS = """
MATCH (f:Flow {projectId: $projectId})
WHERE f.id IN $flowIds
OPTIONAL MATCH (f)-[:HAS_STEP]->(s:Step)
WITH f, collect(s) AS steps
FOREACH (s IN steps | DETACH DELETE s)
WITH DISTINCT f
DETACH DELETE f
RETURN count(f) AS deleted
"""

# --------------------------------------------------------------------------------------------------
# Steps: natural key (flowId, order). A flow's steps are replaced as a whole, in one query.

#: For each flow in `$flows` ([{flowId, stepIds, rows}], rows sorted by order; `$stepIds`: all their step
#: ids): removes its old steps,
#: creates the new ones with HAS_STEP and links them with NEXT. Returns one row per flow it replaced. A flow
#: that is missing, or one of whose step ids another flow already uses, is left untouched and returns no row:
#: the clash is checked before anything is deleted, so the query never fails half-way (see the module
#: docstring on rollbacks). Every flow needs at least one row (see CLEAR_STEPS).
REPLACE_STEPS = """
OPTIONAL MATCH (taken:Step)
WHERE taken.id IN $stepIds
WITH collect(taken) AS taken
UNWIND range(0, size($flows) - 1) AS i
WITH i, $flows[i] AS entry, taken
MATCH (f:Flow {projectId: $projectId, id: entry.flowId})
WITH i, f, size([t IN taken WHERE t.flowId <> f.id AND t.id IN entry.stepIds]) AS clashes
WHERE clashes = 0
OPTIONAL MATCH (f)-[:HAS_STEP]->(old:Step)
WITH i, f, collect(old) AS olds
FOREACH (o IN olds | DETACH DELETE o)
WITH i, f
UNWIND $flows[i].rows AS row
CREATE (f)-[:HAS_STEP]->(s:Step {projectId: $projectId, flowId: f.id})
SET s += row
WITH f, s ORDER BY s.order
WITH f, collect(s) AS steps
FOREACH (k IN range(0, size(steps) - 2) |
  FOREACH (a IN [steps[k]] |
    FOREACH (b IN [steps[k + 1]] |
      CREATE (a)-[:NEXT]->(b)
    )
  )
)
RETURN f.id AS flowId
"""

#: Removes all steps of the flows `$flowIds`; one row per flow found.
CLEAR_STEPS = """
MATCH (f:Flow {projectId: $projectId})
WHERE f.id IN $flowIds
OPTIONAL MATCH (f)-[:HAS_STEP]->(old:Step)
WITH f, collect(old) AS olds
FOREACH (o IN olds | DETACH DELETE o)
RETURN f.id AS flowId
"""

FLOW_EXISTS = """
MATCH (f:Flow {projectId: $projectId})
WHERE f.id IN $flowIds
RETURN f.id AS flowId
"""

# --------------------------------------------------------------------------------------------------
# Pages: natural key (projectId, route).

UPSERT_PAGES = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (pg:Page {projectId: $projectId, route: row.route})
SET pg.files = row.files
RETURN count(pg) AS written
"""

#: Creates the LINKS_TO edges that do not exist yet between existing pages; returns how many it created.
#: `$rows` must hold each (source, target) once.
UPSERT_PAGE_LINKS = """
UNWIND $rows AS row
MATCH (a:Page {projectId: $projectId, route: row.source})
MATCH (b:Page {projectId: $projectId, route: row.target})
OPTIONAL MATCH (a)-[existing:LINKS_TO]->(b)
WITH a, b, count(existing) AS found
WHERE found = 0
CREATE (a)-[:LINKS_TO]->(b)
RETURN count(*) AS created
"""

LIST_PAGES = """
MATCH (pg:Page {projectId: $projectId})
RETURN properties(pg) AS page
ORDER BY pg.route
"""

#: Deletes the pages `$routes` with every edge they have (LINKS_TO both ways, the VISITS edges of flows).
DELETE_PAGES = """
MATCH (pg:Page {projectId: $projectId})
WHERE pg.route IN $routes
DETACH DELETE pg
RETURN count(pg) AS deleted
"""

#: Every LINKS_TO edge between the project's pages, as (source, target) routes.
LIST_PAGE_LINKS = """
MATCH (a:Page {projectId: $projectId})-[:LINKS_TO]->(b:Page)
WHERE b.projectId = $projectId
RETURN a.route AS source, b.route AS target
ORDER BY source, target
"""

#: Deletes the LINKS_TO edges `$rows` ([{source, target}], each pair once); the pages stay. Returns how many.
DELETE_PAGE_LINKS = """
UNWIND $rows AS row
MATCH (a:Page {projectId: $projectId, route: row.source})-[r:LINKS_TO]->(b:Page)
WHERE b.projectId = $projectId AND b.route = row.target
DELETE r
RETURN count(r) AS deleted
"""

# --------------------------------------------------------------------------------------------------
# Change analyses, with AFFECTS {confidence, riskScore, reasons} edges to the flows they put at risk.

#: Stores (or re-stores) an analysis and replaces its AFFECTS edges. No row when the project does not
#: exist or the id belongs to another project's analysis. Returns the ids of the flows it linked.
RECORD_ANALYSIS = """
MATCH (project:Project {id: $projectId})
MERGE (a:ChangeAnalysis {id: $analysisId})
ON CREATE SET a.projectId = $projectId
WITH a
WHERE a.projectId = $projectId
SET a += $props
WITH a
OPTIONAL MATCH (a)-[old:AFFECTS]->()
WITH a, collect(old) AS olds
FOREACH (r IN olds | DELETE r)
WITH DISTINCT a
OPTIONAL MATCH (f:Flow {projectId: $projectId})
WHERE f.id IN $flowIds
WITH a, collect(f) AS flows
FOREACH (f IN flows |
  FOREACH (row IN [r IN $rows WHERE r.flowId = f.id] |
    CREATE (a)-[:AFFECTS {
      rank: row.rank, name: row.name, priority: row.priority, confidence: row.confidence,
      riskScore: row.riskScore, affectedPages: row.affectedPages, reasons: row.reasons,
      usersPerDay: row.usersPerDay, prodSuccessRate: row.prodSuccessRate
    }]->(f)
  )
)
RETURN a.id AS id, [f IN flows | f.id] AS linked
"""

#: An analysis and its AFFECTS edges, one map per edge ({flowId, rank, name, …}; collect() skips the null of an
#: analysis without flows). An OPTIONAL MATCH, not a pattern comprehension: once edge ids had been reused after
#: deletions, FalkorDB answered null for every property of the edge in `[(a)-[e:AFFECTS]->(f) | e.rank…]` while a
#: MATCH read them (tests/integration/api/test_api_analyses_stateful.py found the sequence).
AFFECTS_PROPERTIES = (
    "rank",
    "name",
    "priority",
    "confidence",
    "riskScore",
    "affectedPages",
    "reasons",
    "usersPerDay",
    "prodSuccessRate",
)
_AFFECTS_ENTRY = ", ".join(["flowId: f.id", *(f"{name}: e.{name}" for name in AFFECTS_PROPERTIES)])

_ANALYSIS_VIEW = f"""
OPTIONAL MATCH (a)-[e:AFFECTS]->(f:Flow {{projectId: $projectId}})
WITH a, collect(CASE WHEN f IS NULL THEN NULL ELSE {{{_AFFECTS_ENTRY}}} END) AS flows
RETURN properties(a) AS analysis, flows
"""

GET_ANALYSIS = (
    """
MATCH (a:ChangeAnalysis {projectId: $projectId, id: $analysisId})
"""
    + _ANALYSIS_VIEW
)

#: The newest `$limit` analyses (the adapter sorts the rows again: the aggregation does not keep the order).
LIST_ANALYSES = (
    """
MATCH (a:ChangeAnalysis {projectId: $projectId})
WITH a
ORDER BY a.createdAt DESC, a.id DESC
LIMIT $limit
"""
    + _ANALYSIS_VIEW
)

# --------------------------------------------------------------------------------------------------
# Flow metrics: one (:FlowMetrics {projectId, flowId, day}) per flow and UTC day, linked (f)-[:HAS_METRICS]->(m).

#: Creates or replaces the metrics of `$rows` ([{flowId, day, props}]) for flows of the project; rows of flows
#: the project does not have are skipped. One row per metrics node written.
UPSERT_FLOW_METRICS = """
UNWIND $rows AS row
MATCH (f:Flow {projectId: $projectId, id: row.flowId})
MERGE (m:FlowMetrics {projectId: $projectId, flowId: row.flowId, day: row.day})
SET m += row.props
MERGE (f)-[:HAS_METRICS]->(m)
RETURN row.flowId AS flowId, row.day AS day
"""

#: The metrics of the project's flows from `$since` to `$until` (days, inclusive), of the flows `$flowIds` or of
#: every flow when it is empty. Metrics of deleted flows are not read (they hang off no flow).
LIST_FLOW_METRICS = """
MATCH (f:Flow {projectId: $projectId})-[:HAS_METRICS]->(m:FlowMetrics)
WHERE m.projectId = $projectId AND m.day >= $since AND m.day <= $until AND (size($flowIds) = 0 OR f.id IN $flowIds)
RETURN properties(m) AS metrics
ORDER BY m.day, m.flowId
"""

# --------------------------------------------------------------------------------------------------
# Health

PING = "RETURN 1 AS ok"

# --------------------------------------------------------------------------------------------------
# Coordinator: test runs `(:TestRun)-[:TESTS]->(:Flow)` and predictions `(:Prediction)-[:ABOUT]->(:Flow)`.
# Ids are unique across projects; a row whose id belongs to another project's node is skipped (no row back).

#: Stores (or re-stores) test runs `$rows` ([{id, flowId, props}]) and links each to its flow when the project
#: has it (else its flowId is cleared). One row per run written: its id and the flows it was linked to.
RECORD_TEST_RUNS = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (r:TestRun {id: row.id})
ON CREATE SET r.projectId = $projectId
WITH r, row
WHERE r.projectId = $projectId
SET r += row.props
WITH r, row
OPTIONAL MATCH (r)-[old:TESTS]->()
WITH r, row, collect(old) AS olds
FOREACH (e IN olds | DELETE e)
WITH r, row
OPTIONAL MATCH (f:Flow {projectId: $projectId})
WHERE f.id = row.flowId
WITH r, collect(f) AS flows
FOREACH (f IN flows | CREATE (r)-[:TESTS]->(f))
SET r.flowId = CASE WHEN size(flows) = 0 THEN null ELSE flows[0].id END
RETURN r.id AS id, [f IN flows | f.id] AS linked
"""

#: The project's runs, newest first, optionally of one flow / commit / invocation, created at or after `$since`.
LIST_TEST_RUNS = """
MATCH (r:TestRun {projectId: $projectId})
WHERE ($flowId IS NULL OR r.flowId = $flowId)
  AND ($commitSha IS NULL OR r.commitSha = $commitSha)
  AND ($suiteId IS NULL OR r.suiteId = $suiteId)
  AND r.createdAt >= $since
RETURN properties(r) AS run
ORDER BY r.createdAt DESC, r.id DESC
LIMIT $limit
"""

#: The newest run of each flow of the project (ties at the same createdAt all come back; the caller picks).
LATEST_TEST_RUNS = """
MATCH (r:TestRun {projectId: $projectId})
WHERE r.flowId IS NOT NULL
WITH r.flowId AS flowId, max(r.createdAt) AS last
MATCH (x:TestRun {projectId: $projectId})
WHERE x.flowId = flowId AND x.createdAt = last
RETURN properties(x) AS run
"""

#: Sets each flow's coverageScore (`$rows`: [{flowId, score}], score may be null) and updatedAt.
SET_COVERAGE_SCORES = """
UNWIND $rows AS row
MATCH (f:Flow {projectId: $projectId})
WHERE f.id = row.flowId
SET f.coverageScore = row.score, f.updatedAt = $now
RETURN count(f) AS updated
"""

#: Stores predictions `$rows` ([{id, flowId, props}]) with an ABOUT edge to their flow. Returns how many.
RECORD_PREDICTIONS = """
MATCH (project:Project {id: $projectId})
UNWIND $rows AS row
MERGE (p:Prediction {id: row.id})
ON CREATE SET p.projectId = $projectId
WITH p, row
WHERE p.projectId = $projectId
SET p += row.props
WITH p, row
OPTIONAL MATCH (f:Flow {projectId: $projectId})
WHERE f.id = row.flowId
WITH p, collect(f) AS flows
FOREACH (f IN flows | MERGE (p)-[:ABOUT]->(f))
RETURN count(p) AS written
"""

#: The project's predictions, newest first: optionally of one analysis, optionally only validated ones.
LIST_PREDICTIONS = """
MATCH (p:Prediction {projectId: $projectId})
WHERE ($analysisId IS NULL OR p.analysisId = $analysisId)
  AND ($validatedOnly = false OR p.actualResult IS NOT NULL)
  AND p.createdAt >= $since
RETURN properties(p) AS prediction
ORDER BY p.createdAt DESC, p.id DESC
LIMIT $limit
"""

#: Fills the outcome of the not yet validated predictions of each (flow, commit) in `$rows` ([{flowId, commitSha,
#: result, decided, failed, validatedAt}]): correct = (affected and failed) or (not affected and passed), null when
#: the outcome decides nothing (error, skipped). Returns how many predictions it validated.
VALIDATE_PREDICTIONS = """
UNWIND $rows AS row
MATCH (p:Prediction {projectId: $projectId})
WHERE p.flowId = row.flowId AND p.commitSha = row.commitSha AND p.actualResult IS NULL
SET p.actualResult = row.result, p.validatedAt = row.validatedAt,
    p.predictionCorrect = CASE WHEN row.decided THEN p.affected = row.failed ELSE null END
RETURN count(p) AS validated
"""
