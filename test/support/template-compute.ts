/**
 * What runs code in template.yaml: its Lambda functions (AWS::Serverless::Function) and the
 * containers of its ECS task definitions, each with the module its code is built from and the
 * environment the template gives it.
 */
import { join } from "node:path";
import { type CfnTemplate, readTemplate } from "../../local/stack/template-model.js";

export interface TemplateFunction {
  logicalId: string;
  /** "handler.handler": the file handler.mjs of the build, its export handler. */
  handler: string;
  /** The TypeScript module the function's bundle is built from, relative to the repository. */
  entryPoint: string;
  /** Each variable the function gets (the template's Globals, then its own) and its value. */
  environment: Record<string, unknown>;
}

export function templateFunctions(template: CfnTemplate = readTemplate()): TemplateFunction[] {
  const globals =
    (template as { Globals?: { Function?: { Environment?: { Variables?: object } } } }).Globals
      ?.Function?.Environment?.Variables ?? {};
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === "AWS::Serverless::Function")
    .map(([logicalId, resource]) => {
      const properties = (resource.Properties ?? {}) as {
        Handler: string;
        CodeUri: string;
        Environment?: { Variables?: object };
      };
      const metadata = (resource as { Metadata?: { BuildProperties?: { EntryPoints?: string[] } } })
        .Metadata;
      // esbuild functions name their entry point; the makefile one bundles <CodeUri>/handler.ts.
      const entryPoint =
        metadata?.BuildProperties?.EntryPoints?.[0] ?? join(properties.CodeUri, "handler.ts");
      return {
        logicalId,
        handler: properties.Handler,
        entryPoint,
        environment: { ...globals, ...(properties.Environment?.Variables ?? {}) },
      };
    });
}

export interface TemplateContainer {
  /** The task definition's logical id. */
  logicalId: string;
  name: string;
  /** The container's command, when it overrides the image's (tasks/Dockerfile's CMD). */
  command: string[] | undefined;
  /** Each plain variable and its value. */
  environment: Record<string, unknown>;
  /** The variables set from Secrets Manager or SSM (`Secrets`): their values are not here. */
  secrets: string[];
}

export function templateContainers(template: CfnTemplate = readTemplate()): TemplateContainer[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === "AWS::ECS::TaskDefinition")
    .flatMap(([logicalId, resource]) => {
      const { ContainerDefinitions = [] } = (resource.Properties ?? {}) as {
        ContainerDefinitions?: {
          Name: string;
          Command?: string[];
          Environment?: { Name: string; Value: unknown }[];
          Secrets?: { Name: string }[];
        }[];
      };
      return ContainerDefinitions.map((container) => ({
        logicalId,
        name: container.Name,
        command: container.Command,
        environment: Object.fromEntries(
          (container.Environment ?? []).map(({ Name, Value }) => [Name, Value]),
        ),
        secrets: (container.Secrets ?? []).map(({ Name }) => Name),
      }));
    });
}
