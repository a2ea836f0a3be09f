#!/usr/bin/env node
// tests/zabbix/run_media.js - runs the JavaScript of a Zabbix webhook media
// type export (etc/zabbix/media_reflex.yaml) the way a Zabbix server would:
// the media type's parameters with their macros substituted become the JSON
// string `value`, and the script runs as a function body with only what
// Zabbix gives it: value, HttpRequest (and its 6.0 alias CurlHttpRequest),
// Zabbix.log/sleep and console. HttpRequest makes real, synchronous HTTP
// requests by running curl, as Zabbix's own object wraps libcurl.
//
// Usage:
//   node run_media.js --media FILE.yaml --macros MACROS.json
//                     [--param NAME=VALUE]... [--trace]
// MACROS.json maps macros to values, {"{EVENT.ID}": "1001", ...}. A macro it
// does not list stays unresolved, as Zabbix leaves macros it cannot resolve
// in that kind of notification. --param sets a parameter's value outright
// (url, token, timezone, ...), after substitution.
// Exit: 0 the script returned (its result on stdout); 1 the script threw
// (its error on stderr as "error: MESSAGE"); 2 a usage or harness error.
// Needs node (Debian package nodejs) and curl; no npm packages.
'use strict';

const fs = require('fs');
const vm = require('vm');
const { spawnSync } = require('child_process');

function die(msg) {
	process.stderr.write('run_media: ' + msg + '\n');
	process.exit(2);
}

function parseArgs(argv) {
	const args = { params: {}, trace: false };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => {
			if (i + 1 >= argv.length)
				die(a + ' needs a value');
			return argv[++i];
		};
		if (a === '--media') {
			args.media = next();
		} else if (a === '--macros') {
			args.macros = next();
		} else if (a === '--param') {
			const kv = next(), eq = kv.indexOf('=');
			if (eq < 1)
				die('--param takes NAME=VALUE, got ' + kv);
			args.params[kv.slice(0, eq)] = kv.slice(eq + 1);
		} else if (a === '--trace') {
			args.trace = true;
		} else {
			die('unknown argument ' + a);
		}
	}
	if (!args.media || !args.macros)
		die('usage: run_media.js --media FILE.yaml --macros MACROS.json [--param NAME=VALUE]... [--trace]');
	return args;
}

// ---- the few YAML forms a Zabbix export uses --------------------------------

function indentOf(line) {
	return line.length - line.trimStart().length;
}

// A scalar as Zabbix exports write it: 'single' ('' is a quote), "double"
// (JSON escapes suffice for what exports contain) or plain.
function scalar(text) {
	const s = text.trim();
	if (s.startsWith("'")) {
		if (!s.endsWith("'") || s.length < 2)
			throw new Error('unterminated single-quoted scalar: ' + s);
		return s.slice(1, -1).replace(/''/g, "'");
	}
	if (s.startsWith('"'))
		return JSON.parse(s);
	return s;
}

// The text of a literal block scalar (`key: |`) starting after line `at`.
function blockScalar(lines, at, keyIndent, chomp) {
	const out = [];
	let indent = -1, i;
	for (i = at + 1; i < lines.length; i++) {
		const l = lines[i];
		if (l.trim() === '') {
			out.push('');
			continue;
		}
		if (indentOf(l) <= keyIndent)
			break;
		if (indent < 0)
			indent = indentOf(l);
		if (indentOf(l) < indent)
			throw new Error('line ' + (i + 1) + ': less indented than its block');
		out.push(l.slice(indent));
	}
	while (out.length && out[out.length - 1] === '')
		out.pop();
	return out.join('\n') + (chomp === '-' ? '' : '\n');
}

// {name, parameters: {name: value}, script} of the first media type.
function loadMediaType(file) {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const mt = { parameters: {} };
	let paramsIndent = -1, item = null;

	if (!lines.some((l) => /^zabbix_export:\s*$/.test(l)))
		throw new Error(file + ': not a Zabbix export (no zabbix_export:)');
	for (let i = 0; i < lines.length; i++) {
		const l = lines[i], ind = indentOf(l);
		let m;
		if (l.trim() === '' || l.trim().startsWith('#'))
			continue;
		if (paramsIndent >= 0 && ind <= paramsIndent && !/^\s*-/.test(l))
			paramsIndent = -1; /* left the parameters list */
		if (paramsIndent >= 0) {
			/* "-" alone or "- name: x", then "name:"/"value:" lines */
			const body = l.trim().replace(/^-\s*/, '');
			if (l.trim().startsWith('-'))
				item = null;
			if ((m = /^name:\s*(.*)$/.exec(body))) {
				item = scalar(m[1]);
				mt.parameters[item] = '';
			} else if ((m = /^value:\s*(.*)$/.exec(body))) {
				if (item === null)
					throw new Error('line ' + (i + 1) + ': parameter value before its name');
				mt.parameters[item] = scalar(m[1]);
			}
			continue;
		}
		if ((m = /^(\s*)(?:-\s*)?name:\s*(.*)$/.exec(l)) && mt.name === undefined) {
			mt.name = scalar(m[2]);
		} else if ((m = /^(\s*)parameters:\s*$/.exec(l))) {
			paramsIndent = ind;
		} else if ((m = /^(\s*)script:\s*\|([-+]?)\s*$/.exec(l))) {
			mt.script = blockScalar(lines, i, ind, m[2]);
		} else if ((m = /^(\s*)script:\s*(\S.*)$/.exec(l))) {
			mt.script = scalar(m[2]);
		}
	}
	if (mt.script === undefined)
		throw new Error(file + ': no script: found');
	return mt;
}

// Duktape runs ECMAScript 5.1: catch newer syntax here, not in production.
function checkEs5(script) {
	const stripped = script.replace(/\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'/g, "''");
	const bad = [[/=>/, 'arrow function'], [/`/, 'template literal'],
		[/\b(let|const|class)\s/, 'let/const/class'], [/\.\.\.[A-Za-z_$]/, 'spread']];
	for (const [re, what] of bad)
		if (re.test(stripped))
			throw new Error('the script uses ' + what + ', which Zabbix (Duktape, ES5) rejects');
}

// ---- what Zabbix provides -------------------------------------------------------

let trace = false;

function zabbixLog(level, msg) {
	process.stderr.write('[zabbix log ' + level + '] ' + msg + '\n');
}

class HttpRequest {
	constructor() {
		this.headers = [];
		this.status = 0;
		this.proxy = '';
		this.respHeaders = {};
	}

	// Zabbix 6.0 takes one "Name: value" string; 6.2+ also (name, value).
	addHeader(name, value) {
		this.headers.push(value === undefined ? String(name) : name + ': ' + value);
	}

	clearHeader() {
		this.headers = [];
	}

	setProxy(proxy) {
		this.proxy = proxy || '';
	}

	getStatus() {
		return this.status;
	}

	getHeaders() {
		return this.respHeaders;
	}

	request(method, url, data) {
		const args = ['-sS', '-X', method, '--max-time', '15', '-o', '-', '-D', '-',
			'-w', '\n%{http_code}'];
		for (const h of this.headers)
			args.push('-H', h);
		if (this.proxy)
			args.push('-x', this.proxy);
		if (data !== undefined && data !== null)
			args.push('--data-binary', '@-');
		args.push('--', url);
		if (trace)
			process.stderr.write('[http] ' + method + ' ' + url + ' ' + this.headers.join(' | ') +
				'\n[http] body ' + (data === undefined ? '' : data) + '\n');
		const r = spawnSync('curl', args, { input: data === undefined || data === null ? '' : String(data),
			encoding: 'utf8', maxBuffer: 16 << 20 });
		if (r.error)
			throw new Error('cannot run curl: ' + r.error.message);
		if (r.status !== 0)
			throw new Error('Cannot perform request: ' + r.stderr.trim());
		let out = r.stdout;
		const nl = out.lastIndexOf('\n');
		this.status = parseInt(out.slice(nl + 1), 10);
		out = out.slice(0, nl);
		/* -D - writes the head first; skip interim 100 Continue heads */
		let sep;
		this.respHeaders = {};
		while ((sep = out.indexOf('\r\n\r\n')) >= 0 && /^HTTP\//.test(out)) {
			const head = out.slice(0, sep);
			out = out.slice(sep + 4);
			this.respHeaders = {};
			for (const line of head.split('\r\n').slice(1)) {
				const c = line.indexOf(':');
				if (c > 0)
					this.respHeaders[line.slice(0, c).trim()] = line.slice(c + 1).trim();
			}
			if (!/^HTTP\/\S+ 1\d\d/.test(head))
				break;
		}
		if (trace)
			process.stderr.write('[http] answer ' + this.status + ' ' + out + '\n');
		return out;
	}

	get(url, data) { return this.request('GET', url, data); }
	post(url, data) { return this.request('POST', url, data); }
	put(url, data) { return this.request('PUT', url, data); }
	delete(url, data) { return this.request('DELETE', url, data); }
}

// The pre-5.4 name, still accepted by Zabbix 6.0, with its method names.
class CurlHttpRequest extends HttpRequest {
	AddHeader(v) { this.addHeader(v); }
	ClearHeader() { this.clearHeader(); }
	SetProxy(p) { this.setProxy(p); }
	Status() { return this.getStatus(); }
	Get(u, d) { return this.get(u, d); }
	Post(u, d) { return this.post(u, d); }
	Put(u, d) { return this.put(u, d); }
	Delete(u, d) { return this.delete(u, d); }
}

// Replaces every {MACRO} or {$USER.MACRO} the map knows; leaves the others.
function substitute(text, macros) {
	return text.replace(/\{\$?[A-Z0-9_.#:]+\}/g,
		(m) => (Object.prototype.hasOwnProperty.call(macros, m) ? String(macros[m]) : m));
}

function main() {
	const args = parseArgs(process.argv.slice(2));
	let mt, macros;
	trace = args.trace;
	try {
		mt = loadMediaType(args.media);
		checkEs5(mt.script);
		macros = JSON.parse(fs.readFileSync(args.macros, 'utf8'));
	} catch (e) {
		die(e.message);
	}
	const params = {};
	for (const name of Object.keys(mt.parameters))
		params[name] = substitute(mt.parameters[name], macros);
	for (const name of Object.keys(args.params)) {
		if (!Object.prototype.hasOwnProperty.call(params, name))
			die('--param ' + name + ': the media type has no such parameter');
		params[name] = args.params[name];
	}

	const zabbix = { log: zabbixLog, Log: zabbixLog, sleep: () => {} };
	const sandbox = {
		value: JSON.stringify(params),
		HttpRequest,
		CurlHttpRequest,
		Zabbix: zabbix,
		console: {
			log: (o) => zabbixLog(4, JSON.stringify(o)),
			warn: (o) => zabbixLog(3, JSON.stringify(o)),
			error: (o) => zabbixLog(2, JSON.stringify(o)),
		},
	};
	vm.createContext(sandbox);
	let result;
	try {
		/* Zabbix runs the script as the body of a function */
		result = vm.runInContext('(function () {\n' + mt.script + '\n})()', sandbox,
			{ filename: 'media_type:' + mt.name, timeout: 30000 });
	} catch (e) {
		const msg = e && e.message !== undefined ? e.message : String(e);
		process.stderr.write('error: ' + msg + '\n');
		process.exit(1);
	}
	process.stdout.write((result === undefined ? '' : String(result)) + '\n');
	process.exit(0);
}

main();
