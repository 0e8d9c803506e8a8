// Throws while loading: reported with the error's own name.
throw new TypeError('init went wrong');
