// User and organization pages, organization membership.
import { get, send } from './http.js';

const enc = encodeURIComponent;
export const namespace = (name) => get(`/ui-api/namespaces/${enc(name)}`);
export const createOrg = (name) => send('POST', '/ui-api/orgs', { name });
export const setMember = (org, user, role) => send('PUT', `/ui-api/orgs/${enc(org)}/members/${enc(user)}`, { role });
export const removeMember = (org, user) => send('DELETE', `/ui-api/orgs/${enc(org)}/members/${enc(user)}`);
