// TypeScript types of an SOP's run input, inferred from a `defineSop` definition, so a caller that holds
// the definition gets a compile error for a missing or mistyped input field. The runtime still validates
// every input against the compiled JSON Schema; these types only move the error earlier.

type Scalar<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'array'
        ? unknown[]
        : T extends 'object'
          ? Record<string, unknown>
          : unknown;

/** The value type of one field declaration (`string`, or `{ type, enum, items, properties, ... }`). */
export type FieldValue<F> = F extends string
  ? Scalar<F>
  : F extends { enum: readonly (infer E)[] }
    ? E
    : F extends { type: 'array'; items: infer I }
      ? FieldValue<I>[]
      : F extends { type: 'object'; properties: infer P }
        ? FieldsValue<P>
        : F extends { type: infer T }
          ? Scalar<T>
          : unknown;

type IsOptional<F> = F extends { default: unknown } ? true : F extends { required: false } ? true : false;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The object type of a field map: fields with a default or `required: false` are optional. */
type FieldsValue<P> = Simplify<
  { -readonly [K in keyof P as IsOptional<P[K]> extends true ? never : K]: FieldValue<P[K]> } & {
    -readonly [K in keyof P as IsOptional<P[K]> extends true ? K : never]?: FieldValue<P[K]>;
  }
>;

/** The run input of a definition (`{}` when it declares none). */
export type InputOf<D> = D extends { input: infer I } ? FieldsValue<I> : Record<string, never>;

/** A value that remembers the input type of the SOP it came from (a phantom: nothing at runtime). */
export interface TypedInput<I> {
  readonly __input?: I;
}
