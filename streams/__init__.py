"""The stream layer: the Faust app, the topic catalogue and record serialisation."""
