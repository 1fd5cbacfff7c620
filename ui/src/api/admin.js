// Operators only: every account (the server answers 404 to everyone else).
import { get, send } from './http.js';

const enc = encodeURIComponent;
export const listUsers = () => get('/ui-api/admin/users');
export const changeUser = (name, patch) => send('PATCH', `/ui-api/admin/users/${enc(name)}`, patch);
export const deleteUser = (name) => send('DELETE', `/ui-api/admin/users/${enc(name)}`);
