// NetcKernels: contents arrive with the issue that builds this layer.
