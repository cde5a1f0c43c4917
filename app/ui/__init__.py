"""Building blocks of the Streamlit app: session (user, case), cached readers, maps, widgets."""
