"""Waiting for resources a component gets by id only (plain Args carry no Resource objects to `depends_on`)."""

import pulumi


def waiting(name: pulumi.Input[str], *ids: pulumi.Input[str]) -> pulumi.Output[str]:
    """`name`, resolved together with `ids`: a resource given it waits for the resources behind those ids."""
    return pulumi.Output.all(name, *ids).apply(lambda values: values[0])
