// Stacks deployed before the rename to seed-provider.ts hold a serialized provider that loads dist/infra/seeder.js;
// `pulumi destroy` and `refresh` run that old provider, so this path must keep resolving.
export * from "./seed/provider";
