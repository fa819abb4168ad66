// Runs a template's search -> rerank -> answer chain outside n8n: its own Code nodes' JavaScript and its
// HTTP Request node's URL and JSON body expression, against a live embedrank server.
// Usage: node simulate_rerank.cjs <workflow.json> <embedrank base URL> <scenario.json>
//   scenario: {"trigger": {...trigger node output json...}, "hits": [{document: {pageContent, metadata}, score}]}
// Prints {"request": ..., "status": ..., "output": ...}; exit 1 when a node throws.
'use strict';

const fs = require('node:fs');

const TEMPLATE_BASE = 'http://localhost:9000';
const TRIGGERS = ['Webhook', 'When called by the agent'];
const FINAL = ['Top passages', 'Format for the agent'];
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;

const item = (json) => ({ json });

// The small part of n8n's Code-node sandbox these templates use: $input, $('Node') and $json.
async function runCode(node, inputItems, outputsByName) {
	const $input = { all: () => inputItems, first: () => inputItems[0], item: inputItems[0] };
	const $ = (name) => {
		if (!(name in outputsByName)) throw new Error(`no output of node "${name}" in this simulation`);
		const items = outputsByName[name];
		return { first: () => items[0], all: () => items, item: items[0] };
	};
	const run = new AsyncFunction('$input', '$', '$json', node.parameters.jsCode);
	return run($input, $, inputItems[0] ? inputItems[0].json : {});
}

// n8n expressions here are `={{ <one JavaScript expression> }}` over $json.
function evaluate(expression, $json) {
	const match = /^=\{\{([\s\S]*)\}\}$/.exec(expression.trim());
	if (!match) return expression;
	return new Function('$json', `return (${match[1]});`)($json);
}

async function main([file, base, scenarioFile]) {
	const workflow = JSON.parse(fs.readFileSync(file, 'utf8'));
	const scenario = JSON.parse(fs.readFileSync(scenarioFile, 'utf8'));
	const byName = Object.fromEntries(workflow.nodes.map((n) => [n.name, n]));
	const trigger = TRIGGERS.find((name) => byName[name]);
	const final = byName[FINAL.find((name) => byName[name])];
	const http = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.httpRequest');
	const outputs = { [trigger]: [item(scenario.trigger)] };

	// The Qdrant node's items (alwaysOutputData gives one empty item when nothing matched).
	const hits = scenario.hits.length ? scenario.hits.map(item) : [item({})];
	outputs['Collect candidates'] = await runCode(byName['Collect candidates'], hits, outputs);

	const body = evaluate(http.parameters.jsonBody, outputs['Collect candidates'][0].json);
	const url = http.parameters.url.replace(TEMPLATE_BASE, base.replace(/\/$/, ''));
	const headers = { 'content-type': 'application/json' };
	if (process.env.EMBEDRANK_API_KEY) headers.authorization = `Bearer ${process.env.EMBEDRANK_API_KEY}`;
	const response = await fetch(url, { method: http.parameters.method, headers, body });
	// neverError: the response body becomes the item whatever the status.
	const answer = await response.json();

	const output = await runCode(final, [item(answer)], outputs);
	console.log(JSON.stringify({ request: JSON.parse(body), url, status: response.status, output }, null, 2));
}

main(process.argv.slice(2)).catch((error) => {
	console.log(JSON.stringify({ error: error.message }));
	process.exit(1);
});
