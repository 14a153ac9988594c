// Stacks deployed before the move to infra/seed/ hold a serialized provider that loads dist/infra/seed-provider.js;
// `pulumi destroy` and `refresh` run that old provider, so this path must keep resolving.
export * from "./seed/provider";
