"""web: everything served over HTTP: `preview/` (the author's local app) and `public/` (unsubscribe,
preferences, archive), which never import each other. Imports anything below it, never `cli`."""
