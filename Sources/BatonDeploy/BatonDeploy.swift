// placeholder until the BatonDeploy work lands
