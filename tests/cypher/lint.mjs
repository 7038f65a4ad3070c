// Lint Cypher with Neo4j's own linter (@neo4j-cypher/language-support), for tests/cypher/test_cypher_lint.py.
// stdin: [{"name": ..., "query": ...}, ...]; stdout: [{"name", "severity" (1 error, 2 warning), "message", "line", "column"}].
// Parameters are declared from the query itself ($name): each query gets its values from the code that runs it.
import { lintCypherQuery } from '@neo4j-cypher/language-support';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const queries = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const problems = [];
for (const { name, query } of queries) {
  const parameters = Object.fromEntries([...query.matchAll(/\$(\w+)/g)].map((match) => [match[1], null]));
  const { diagnostics } = lintCypherQuery(query, { parameters }, {});
  for (const diagnostic of diagnostics) {
    problems.push({
      name,
      severity: diagnostic.severity,
      message: diagnostic.message,
      line: diagnostic.range.start.line + 1,
      column: diagnostic.range.start.character + 1,
    });
  }
}
process.stdout.write(JSON.stringify(problems));
