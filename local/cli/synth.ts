console.log("hello", process.argv.slice(2), process.env.RSVP_ATLAS_PYTHON);
