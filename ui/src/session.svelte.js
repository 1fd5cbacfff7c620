// Who is signed in (null: nobody), shared by every page.
import * as account from './api/account.js';

export const session = $state({ me: null, loaded: false });

export async function loadMe() {
  try {
    session.me = await account.me();
  } catch {
    session.me = null;
  }
  session.loaded = true;
}
