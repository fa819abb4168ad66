// Validates n8n workflow JSON files with the real n8n-workflow library (2.8.x) and n8n's own node descriptions.
// Usage: node validate.cjs <workflow.json>...   Prints a JSON report; exit code 1 when any file has errors.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const {
	INodesSchema,
	NodeHelpers,
	Workflow,
	validateNodeCredentials,
	nodeConnectionTypes,
} = require('n8n-workflow');

const TYPES_DIR = path.join(__dirname, 'node_modules', '.n8n-node-types');
// Folder written by install.sh -> the package prefix n8n puts in front of each node name.
const PACKAGES = { 'n8n-nodes-base': 'n8n-nodes-base', '@n8n__n8n-nodes-langchain': '@n8n/n8n-nodes-langchain' };

function loadDescriptions() {
	const byName = new Map();
	for (const [folder, prefix] of Object.entries(PACKAGES)) {
		const file = path.join(TYPES_DIR, folder, 'nodes.json');
		if (!fs.existsSync(file)) throw new Error(`missing ${file}: run tests/n8n_templates/node/install.sh`);
		for (const raw of JSON.parse(fs.readFileSync(file, 'utf8'))) {
			// n8n's node loader prefixes each name with its package; workflows use the full name.
			const description = { ...raw, name: `${prefix}.${raw.name}` };
			if (!byName.has(description.name)) byName.set(description.name, []);
			byName.get(description.name).push(description);
		}
	}
	return byName;
}

// A node-types registry shaped like n8n's: one description per (name, typeVersion).
function makeNodeTypes(byName) {
	const find = (name, version) =>
		(byName.get(name) || []).find((d) => [].concat(d.version).includes(version));
	const asNodeType = (description) => {
		if (!description) return undefined;
		const isTrigger = [].concat(description.group || []).includes('trigger');
		// Runtime methods are not in the JSON descriptions; n8n only checks that they exist.
		return {
			description,
			...(isTrigger ? { trigger: async () => undefined } : {}),
			...(description.webhooks ? { webhook: async () => ({}) } : {}),
		};
	};
	return {
		getByName: (name) => asNodeType((byName.get(name) || [])[0]),
		getByNameAndVersion: (name, version) => asNodeType(find(name, version)),
		getKnownTypes: () => Object.fromEntries([...byName.keys()].map((k) => [k, {}])),
		find,
	};
}

function connectionTypesOf(list) {
	return list.map((entry) => (typeof entry === 'string' ? entry : entry.type));
}

// Keys set in a collection parameter must be options the description offers (n8n drops the others).
function unknownCollectionKeys(properties, given, resolved, node, description) {
	const problems = [];
	for (const prop of properties) {
		if (prop.type !== 'collection' || !(prop.name in given)) continue;
		if (!NodeHelpers.displayParameter(resolved, prop, node, description)) continue;
		const allowed = new Set((prop.options || []).map((option) => option.name));
		for (const key of Object.keys(given[prop.name] || {})) {
			if (!allowed.has(key)) problems.push(`${prop.name}.${key}`);
		}
	}
	return problems;
}

function checkNode(node, nodeTypes, errors) {
	const description = nodeTypes.find(node.type, node.typeVersion);
	if (!description) {
		const known = (nodeTypes.getByName(node.type) ? 'version' : 'type');
		errors.push(`${node.name}: unknown node ${known} ${node.type}@${node.typeVersion} in n8n 2.8`);
		return;
	}
	const given = node.parameters || {};
	const resolved = NodeHelpers.getNodeParameters(
		description.properties, given, true, false, node, description,
	);
	if (!resolved) {
		errors.push(`${node.name}: n8n could not resolve its parameters`);
		return;
	}
	// Parameters n8n drops on import (typos, options of another version) would silently vanish.
	const dropped = Object.keys(given).filter((key) => !(key in resolved));
	if (dropped.length) errors.push(`${node.name}: parameters n8n does not know: ${dropped.join(', ')}`);
	const badOptions = unknownCollectionKeys(description.properties, given, resolved, node, description);
	if (badOptions.length) errors.push(`${node.name}: unknown options: ${badOptions.join(', ')}`);
	const issues = NodeHelpers.getNodeParametersIssues(
		description.properties, { ...node, parameters: resolved }, description,
	);
	if (issues && issues.parameters) {
		for (const [name, messages] of Object.entries(issues.parameters)) {
			errors.push(`${node.name}: parameter ${name}: ${messages.join('; ')}`);
		}
	}
	for (const issue of validateNodeCredentials({ ...node, parameters: resolved }, { description })) {
		errors.push(`${node.name}: credential ${issue.credentialName} ${issue.type}`);
	}
}

// n8n runs a Code node's JavaScript as the body of an async function; compile it the same way.
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;

function checkCode(node, errors) {
	if (node.type !== 'n8n-nodes-base.code' || (node.parameters.language || 'javaScript') !== 'javaScript') return;
	try {
		new AsyncFunction('$input', '$', '$json', '$workflow', node.parameters.jsCode || '');
	} catch (error) {
		errors.push(`${node.name}: JavaScript does not compile: ${error.message}`);
	}
}

function checkConnections(workflow, data, nodeTypes, errors) {
	const byName = Object.fromEntries(data.nodes.map((n) => [n.name, n]));
	const incoming = {};
	const portsOf = (node, direction) => {
		const description = nodeTypes.find(node.type, node.typeVersion);
		if (!description) return null;
		const live = workflow.getNode(node.name);
		const ports = direction === 'in'
			? NodeHelpers.getNodeInputs(workflow, live, description)
			: NodeHelpers.getNodeOutputs(workflow, live, description);
		return ports;
	};
	for (const [source, byType] of Object.entries(data.connections || {})) {
		if (!byName[source]) {
			errors.push(`connection from unknown node "${source}"`);
			continue;
		}
		const outputs = portsOf(byName[source], 'out');
		for (const [type, groups] of Object.entries(byType)) {
			if (!nodeConnectionTypes.includes(type)) errors.push(`${source}: unknown connection type ${type}`);
			if (outputs && !connectionTypesOf(outputs).includes(type)) {
				errors.push(`${source}: has no ${type} output (has ${connectionTypesOf(outputs).join(', ')})`);
			}
			for (const group of groups || []) {
				for (const target of group || []) {
					if (!byName[target.node]) {
						errors.push(`${source}: connects to unknown node "${target.node}"`);
						continue;
					}
					if (target.type !== type) errors.push(`${source} -> ${target.node}: type ${target.type} != ${type}`);
					const inputs = portsOf(byName[target.node], 'in');
					if (inputs && !connectionTypesOf(inputs).includes(target.type)) {
						errors.push(`${target.node}: has no ${target.type} input (from ${source})`);
					}
					incoming[target.node] = incoming[target.node] || {};
					incoming[target.node][target.type] = (incoming[target.node][target.type] || 0) + 1;
				}
			}
		}
	}
	for (const node of data.nodes) {
		const inputs = portsOf(node, 'in');
		for (const port of inputs || []) {
			if (typeof port === 'string' || !port.required) continue;
			if (!(incoming[node.name] || {})[port.type]) {
				errors.push(`${node.name}: required input ${port.type} is not connected`);
			}
			if (port.maxConnections && (incoming[node.name] || {})[port.type] > port.maxConnections) {
				errors.push(`${node.name}: more than ${port.maxConnections} ${port.type} connections`);
			}
		}
	}
}

function validateFile(file, nodeTypes) {
	const errors = [];
	const data = JSON.parse(fs.readFileSync(file, 'utf8'));
	const parsed = INodesSchema.safeParse(data.nodes);
	if (!parsed.success) errors.push(`nodes do not match n8n's INodesSchema: ${parsed.error.message}`);
	if ((data.settings || {}).executionOrder !== 'v1') errors.push('settings.executionOrder must be "v1"');
	for (const node of data.nodes || []) {
		checkNode(node, nodeTypes, errors);
		checkCode(node, errors);
	}
	let workflow;
	try {
		// The constructor resolves every node's parameters against its type, as n8n does on load.
		workflow = new Workflow({
			id: 'validate',
			name: data.name,
			nodes: structuredClone(data.nodes),
			connections: data.connections,
			active: false,
			nodeTypes,
			settings: data.settings,
		});
	} catch (error) {
		errors.push(`n8n-workflow rejected the workflow: ${error.message}`);
	}
	if (workflow) {
		checkConnections(workflow, data, nodeTypes, errors);
		const triggers = data.nodes.filter((n) => {
			const d = nodeTypes.find(n.type, n.typeVersion);
			return d && NodeHelpers.isTriggerNode(d);
		});
		if (!triggers.length) errors.push('workflow has no trigger node');
	}
	return { file: path.basename(file), nodes: (data.nodes || []).length, errors };
}

function main(files) {
	if (!files.length) {
		console.error('usage: node validate.cjs <workflow.json>...');
		process.exit(2);
	}
	const nodeTypes = makeNodeTypes(loadDescriptions());
	const version = require('n8n-workflow/package.json').version;
	const results = files.map((file) => validateFile(file, nodeTypes));
	console.log(JSON.stringify({ n8n_workflow: version, results }, null, 2));
	process.exit(results.some((r) => r.errors.length) ? 1 : 0);
}

main(process.argv.slice(2));
