// The package version, kept in one place for `maskwise --version` and run metadata.
export const VERSION = "0.1.0";
