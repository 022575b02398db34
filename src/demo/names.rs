//! Word lists for the demo directory.

/// Given names.
pub const FIRST: &[&str] = &[
    "Aisha", "Alex", "Amelia", "Ana", "Andrei", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "David",
    "Elena", "Emma", "Ethan", "Fatima", "Felix", "Freya", "Gabriel", "Hannah", "Hiro", "Ines", "Isaac", "Jack", "Jade",
    "James", "Jonas", "Julia", "Kai", "Karim", "Kenji", "Laura", "Leo", "Liam", "Lucia", "Maya", "Mei", "Mateo", "Mia",
    "Mohammed", "Nadia", "Noah", "Nora", "Olivia", "Oscar", "Pablo", "Rafael", "Rania", "Ravi", "Rosa", "Ruth", "Sam",
    "Sara", "Sofia", "Sven", "Tariq", "Thea", "Tomás", "Uma", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
    "Anders", "Beatriz", "Chiara", "Dmitri", "Esther", "Farah", "Greta", "Hugo", "Ivy", "Joao", "Kwame", "Lars",
];

/// Family names.
pub const LAST: &[&str] = &[
    "Adams", "Ahmed", "Alvarez", "Andersen", "Bauer", "Bianchi", "Brown", "Chen", "Costa", "Davies", "Dubois", "Eriksen",
    "Evans", "Fernandes", "Garcia", "Gupta", "Hansen", "Hoffmann", "Ibrahim", "Ito", "Jansen", "Johnson", "Kaur", "Kim",
    "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Müller", "Nakamura", "Nguyen",
    "Novak", "O'Brien", "Okonkwo", "Olsen", "Patel", "Pereira", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Smith", "Sørensen", "Suzuki", "Tanaka", "Taylor", "Thompson", "Tran", "Van Dijk", "Wagner",
    "Walker", "Wang", "Weber", "Williams", "Wilson", "Wong", "Yamamoto", "Yilmaz", "Zhang", "Zimmermann", "Reyes",
    "Mensah", "Haddad", "Lindqvist", "Ferrari", "Murphy", "Nielsen", "Popescu", "Kovacs", "Horvat", "Ortiz",
];

/// Partner organisations of guests (mail domains).
pub const PARTNERS: &[&str] =
    &["fabrikam.example", "northwind.example", "adatum.example", "tailspin.example", "litware.example", "wingtip.example"];

/// Departments: name, share of members (weight), job titles.
pub const DEPARTMENTS: &[(&str, u32, &[&str])] = &[
    ("Executive", 1, &["Chief of Staff", "Executive Assistant"]),
    ("Engineering", 30, &["Software Engineer", "Senior Software Engineer", "Staff Engineer", "QA Engineer", "Site Reliability Engineer"]),
    ("Sales", 17, &["Account Executive", "Sales Development Representative", "Solutions Consultant", "Account Manager"]),
    ("Marketing", 8, &["Marketing Specialist", "Content Strategist", "Designer", "Campaign Manager"]),
    ("Finance", 7, &["Accountant", "Financial Analyst", "Controller", "Payroll Specialist"]),
    ("Human Resources", 5, &["HR Business Partner", "Recruiter", "People Operations Specialist"]),
    ("Operations", 10, &["Operations Analyst", "Facilities Coordinator", "Procurement Specialist"]),
    ("Customer Support", 12, &["Support Specialist", "Support Engineer", "Customer Success Manager"]),
    ("Legal", 3, &["Counsel", "Paralegal", "Compliance Analyst"]),
    ("IT", 7, &["Systems Administrator", "Service Desk Analyst", "Identity Engineer", "Network Engineer"]),
];

/// Code names of project groups in larger directories.
pub const CODENAMES: &[&str] = &[
    "Aurora", "Basalt", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen",
    "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
];

/// Directory roles: name, description, privileged.
pub const DIRECTORY_ROLES: &[(&str, &str, bool)] = &[
    ("Global Administrator", "Can manage all aspects of the directory and the services that use it.", true),
    ("Privileged Role Administrator", "Can manage role assignments and all aspects of Privileged Identity Management.", true),
    ("User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins.", true),
    ("Identity Governance Administrator", "Can manage access reviews, entitlement management and lifecycle workflows.", false),
    ("Security Administrator", "Can read security information and reports, and manage security configuration.", true),
    ("Exchange Administrator", "Can manage all aspects of the Exchange product.", false),
    ("SharePoint Administrator", "Can manage all aspects of the SharePoint service.", false),
    ("Helpdesk Administrator", "Can reset passwords for non-administrators and Helpdesk Administrators.", false),
    ("Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps.", true),
    ("Billing Administrator", "Can perform common billing related tasks like updating payment information.", false),
    ("Global Reader", "Can read everything that a Global Administrator can, but not update anything.", false),
];

/// Azure resource roles: name, description, privileged.
pub const RESOURCE_ROLES: &[(&str, &str, bool)] = &[
    ("Owner", "Grants full access to manage all resources, including the ability to assign roles.", true),
    ("Contributor", "Grants full access to manage all resources, but does not allow you to assign roles.", true),
    ("Reader", "View all resources, but does not allow you to make any changes.", false),
    ("User Access Administrator", "Lets you manage user access to Azure resources.", true),
];
