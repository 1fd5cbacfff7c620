// Signing in and out, registration, the password, access tokens.
import { get, send } from './http.js';

export const me = () => get('/ui-api/me');
export const login = (name, password) => send('POST', '/ui-api/login', { name, password });
export const logout = () => send('POST', '/ui-api/logout');
export const registrationMode = async () => (await get('/ui-api/registration')).mode;
export const register = (form) => send('POST', '/ui-api/register', form);
export const changePassword = (currentPassword, newPassword) => send('POST', '/ui-api/password', { currentPassword, newPassword });

export const listTokens = () => get('/ui-api/tokens');
export const createToken = (form) => send('POST', '/ui-api/tokens', form);
export const revokeToken = (id) => send('DELETE', `/ui-api/tokens/${encodeURIComponent(id)}`);
